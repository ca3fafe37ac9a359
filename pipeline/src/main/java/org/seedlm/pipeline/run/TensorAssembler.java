package org.seedlm.pipeline.run;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.seedlm.pipeline.Sha256;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedFormat.TensorMeta;
import org.seedlm.pipeline.safetensors.DType;

/**
 * Assembly of a run of a tensor-level codec ({@link RunSpec#tensorCodec}): every quantized tensor is one unit whose
 * one row holds its encoded bytes, written as {@code T.packed} with {@link TensorMeta#ofTensorCodec} metadata (its
 * byte length). Kept tensors, the index, the side files and the manifest are written as {@link Assembler} writes
 * them; the packed format is version 1 (no exponent offsets).
 */
public final class TensorAssembler {
  private TensorAssembler() {}

  /**
   * Groups the output tensors into shards of at most {@code maxShardBytes}. Each tensor's encoded size is its row's
   * {@code bits} column, read alone ({@link BlockTable#readBits}) from the file its marker in {@code markers} (the
   * run's commit markers in unit order, from {@link Assembler#checkComplete}) names: the driver reads no code.
   */
  public static List<Assembler.OutputShard> planShards(RunDirectory run, Plan plan, List<CommitMarker> markers,
      long maxShardBytes) throws IOException {
    TreeMap<String, Long> sizes = new TreeMap<>();
    for (PlannedTensor t : plan.tensors()) {
      CommitMarker m = markers.get(t.firstUnit());
      long[] bits = BlockTable.readBits(run.path(m.file()), run.conf());
      checkOneRow(run, t, m, bits.length);
      sizes.put(t.name() + PackedFormat.PACKED_SUFFIX, bits[0] / 8);
    }
    return Assembler.groupShards(Assembler.withKept(plan, sizes), maxShardBytes);
  }

  /** Writes one output shard under {@code packed/}. */
  public static Assembler.ShardResult writeShard(RunDirectory run, RunSpec spec, Plan plan,
      Assembler.OutputShard shard, Configuration conf) throws IOException {
    TensorCodec codec = spec.newTensorCodec();
    return Assembler.writePackedShard(run, shard, PackedFormat.VERSION_1, (w, stored, digest) -> {
      if (stored.endsWith(PackedFormat.PACKED_SUFFIX)) {
        PlannedTensor t = plan.tensor(stored.substring(0, stored.length() - PackedFormat.PACKED_SUFFIX.length()));
        byte[] code = tensorBytes(run, plan, t);
        TensorMeta meta = TensorMeta.ofTensorCodec(codec, t.shape(), t.dtype(), code.length);
        w.metadata(PackedFormat.KEY_TENSOR_PREFIX + t.name(), meta.toJson());
        w.add(stored, DType.U8, new long[] {code.length}, out -> digest.apply(out).write(code));
      } else {
        Assembler.addKept(w, plan, spec.model(), stored, conf, digest);
      }
    });
  }

  /** Assembles a complete run on one machine: the shards one after the other, then {@link Assembler#finish}. */
  public static List<Assembler.ShardResult> assembleLocally(RunDirectory run, RunSpec spec, Plan plan,
      long maxShardBytes, Configuration conf) throws IOException {
    List<CommitMarker> markers = Assembler.checkComplete(run, plan);
    Assembler.prepare(run);
    List<Assembler.OutputShard> shards = planShards(run, plan, markers, maxShardBytes);
    List<Assembler.ShardResult> results = new ArrayList<>();
    for (Assembler.OutputShard s : shards) {
      results.add(writeShard(run, spec, plan, s, conf));
    }
    Assembler.finish(run, spec.model(), spec, PackedFormat.VERSION_1, plan, shards, results, conf);
    return results;
  }

  /** Refuses a tensor that is not one unit of one row (its file holds {@code rows}). */
  private static void checkOneRow(RunDirectory run, PlannedTensor t, CommitMarker m, int rows) throws IOException {
    if (t.numUnits() != 1 || rows != 1 || m.rows() != 1) {
      throw new IOException(String.format("Cannot assemble %s: a tensor codec's tensor is one unit of one row, "
          + "unit %d has %d rows (its commit says %d) and the plan %d units (delete %s to recompute it)", t.name(),
          t.firstUnit(), rows, m.rows(), t.numUnits(), run.commitPath(t.firstUnit())));
    }
  }

  /** The encoded bytes of a committed tensor, checked against its commit marker (one row, SHA-256). */
  static byte[] tensorBytes(RunDirectory run, Plan plan, PlannedTensor t) throws IOException {
    int id = t.firstUnit();
    CommitMarker m = run.readCommit(id);
    BlockTable.Codes rows = BlockTable.readCodes(run.path(m.file()), run.conf());
    checkOneRow(run, t, m, rows.size());
    byte[] code = rows.code(0);
    if (!Sha256.of(code).equals(m.codeSha256())) {
      throw new IOException(String.format("Cannot assemble %s: unit %d's encoded bytes do not match the checksum in "
          + "its commit marker (%s); the file %s is damaged (delete %s to recompute the unit)", t.name(), id,
          m.codeSha256(), m.file(), run.commitPath(id)));
    }
    return code;
  }
}
