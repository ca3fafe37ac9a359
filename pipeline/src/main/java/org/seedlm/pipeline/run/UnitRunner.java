package org.seedlm.pipeline.run;

import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.Sha256;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Bits;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.metrics.ErrorStats;
import org.seedlm.pipeline.safetensors.CheckpointException;
import org.seedlm.pipeline.safetensors.SafetensorsFile;

/**
 * Computes, writes and commits one work unit: read the unit's slice of the tensor by byte range,
 * encode every block, decode it with the canonical decoder to measure the error, write one Parquet
 * row per block, then publish the commit marker. Engine-free: Spark tasks call {@link #run}, and so
 * do tests.
 */
public final class UnitRunner {
  private UnitRunner() {}

  /**
   * What every task needs, small and serializable.
   *
   * @param runDir run directory
   * @param modelDir model directory (shards are resolved against it)
   * @param spec the run spec
   * @param codecs how to build the codec (reference or fast kernel)
   * @param failUnits units that throw on purpose: a test hook for failure injection, empty otherwise
   */
  public record Context(String runDir, String modelDir, RunSpec spec, CodecProvider codecs, Set<Integer> failUnits)
      implements Serializable {
    public Context {
      failUnits = Set.copyOf(failUnits);
    }
  }

  /**
   * Builds the codec of a spec on the executor, from its name and recorded parameters (see {@link
   * org.seedlm.pipeline.codec.Codecs#parse(String, java.util.Map)}).
   */
  @FunctionalInterface
  public interface CodecProvider extends Serializable {
    BlockCodec codec(String name, java.util.Map<String, String> params);

    /** The codec of a new run when no parameters are asked for (SeedLM: format version 2 defaults). */
    default BlockCodec codec(String name) {
      return codec(name, org.seedlm.pipeline.codec.Codecs.defaultParams());
    }
  }

  /**
   * The result of one unit.
   *
   * @param unit unit id
   * @param tensor tensor name
   * @param committed whether the unit is committed now (by this or an earlier attempt)
   * @param error the failure message, or null
   * @param badInput whether the failure is the input's fault
   * @param blocks blocks encoded
   * @param seconds wall time
   */
  public record Outcome(int unit, String tensor, boolean committed, String error, boolean badInput, long blocks,
      double seconds) implements Serializable {}

  private static final ConcurrentHashMap<String, SafetensorsFile> OPEN = new ConcurrentHashMap<>();

  /**
   * Test hook: milliseconds each unit sleeps before it is computed, read from the JVM system property
   * {@code seedlm.test.unitDelayMs} (0, the default, is off) on every unit, so an in-process test can
   * switch it on and off. Fault tests set it on executors ({@code spark.executor.extraJavaOptions}) or
   * with {@code System.setProperty} (local mode) so a stage lasts long enough to be interrupted midway.
   */
  static final String UNIT_DELAY_PROPERTY = "seedlm.test.unitDelayMs";

  /** Runs one unit; never throws for a unit-level failure (it is recorded and returned). */
  public static Outcome run(Context ctx, Configuration conf, WorkUnit u) {
    long t0 = System.nanoTime();
    String attempt = UUID.randomUUID().toString();
    try {
      RunDirectory run = RunDirectory.at(ctx.runDir(), conf);
      if (ctx.failUnits().contains(u.id())) {
        throw new IOException("injected failure for unit " + u.id() + " (test hook failUnits)");
      }
      long delayMs = Long.getLong(UNIT_DELAY_PROPERTY, 0L);
      if (delayMs > 0) {
        Thread.sleep(delayMs);
      }
      CommitMarker marker = compute(ctx, conf, run, u, attempt, t0);
      run.commit(marker);
      return new Outcome(u.id(), u.tensor(), true, null, false, u.numBlocks(), seconds(t0));
    } catch (Exception e) {
      boolean badInput = e instanceof BadInputException || e instanceof CheckpointException;
      String msg = e.getMessage() == null ? e.toString() : e.getMessage();
      try {
        RunDirectory.at(ctx.runDir(), conf).recordFailure(
            new UnitFailure(u.id(), u.tensor(), msg, badInput, System.currentTimeMillis(), attempt));
      } catch (IOException ignored) {
        // the failure is still reported through the outcome
      }
      return new Outcome(u.id(), u.tensor(), false, msg, badInput, 0, seconds(t0));
    }
  }

  private static CommitMarker compute(Context ctx, Configuration conf, RunDirectory run, WorkUnit u,
      String attempt, long t0) throws IOException {
    Encoded e = ctx.spec().tensorCodec() ? encodeTensor(ctx, conf, u) : encodeBlocks(ctx, conf, u);
    String rel = RunDirectory.BLOCKS + "/" + u.label() + "/" + attempt + ".parquet";
    Path out = run.path(rel);
    BlockTable.write(out, conf, e.rows());
    long fileBytes = run.fs().getFileStatus(out).getLen();
    ErrorStats st = e.stats();
    return new CommitMarker(u.id(), u.tensor(), u.firstBlock(), e.rows().size(), rel, fileBytes, Sha256.of(e.packed()),
        st.count(), st.sqErr(), st.sqNorm(), st.maxAbsErr(), seconds(t0), System.currentTimeMillis(), attempt,
        e.inputSha256(), java.util.Arrays.stream(e.offsets()).boxed().toList());
  }

  /** A computed unit: its rows, the bytes assembly will write, its error, its input's SHA-256, its offsets. */
  private record Encoded(List<BlockRow> rows, byte[] packed, ErrorStats stats, String inputSha256, int[] offsets) {}

  /**
   * A unit of a tensor-level codec: the whole tensor, encoded at once; its one row holds the encoded bytes
   * ({@code code}), their length in bits ({@code bits}) and the tensor's error.
   */
  private static Encoded encodeTensor(Context ctx, Configuration conf, WorkUnit u) throws IOException {
    TensorCodec codec = ctx.spec().newTensorCodec();
    long[] shape = open(new Path(new Path(ctx.modelDir()), u.shard()), conf).info(u.tensor()).shape();
    int[] rc = TensorCodec.matrixShape(shape);
    int numel = Math.multiplyExact(rc[0], rc[1]);
    UnitWeights in = readWeights(ctx.modelDir(), u, numel, ctx.spec().nonFinite(), conf);
    byte[] code = codec.encode(in.weights(), rc[0], rc[1]);
    TensorCodec.checkSize(codec.name(), u.tensor(), numel, code.length);
    ErrorStats s = new ErrorStats().add(in.weights(), 0, codec.decode(code, rc[0], rc[1]), 0, numel);
    BlockRow row = new BlockRow(u.tensor(), TensorSelection.layerOf(u.tensor()), TensorSelection.kindOf(u.tensor()),
        u.id(), 0, codec.name(), code, numel, Math.multiplyExact(8, code.length),
        BlockTable.storedSqErr(s.sqErr(), BlockTable.LAYOUT), BlockTable.storedStat(s.sqNorm()),
        BlockTable.storedStat(s.maxAbsErr()));
    return new Encoded(List.of(row), code, s, in.sha256(), new int[0]);
  }

  private static Encoded encodeBlocks(Context ctx, Configuration conf, WorkUnit u) throws IOException {
    BlockCodec codec = ctx.codecs().codec(ctx.spec().codec(), ctx.spec().codecParams());
    int c = codec.blockSize();
    int bits = codec.bitsPerBlock();
    UnitWeights in = readWeights(ctx.modelDir(), u, c, ctx.spec().nonFinite(), conf);
    float[] w = in.weights();
    int count = in.count();

    if (codec.groupBlocks() > 0 && u.firstBlock() % codec.groupBlocks() != 0) {
      throw new IllegalStateException(String.format("Cannot compute unit %d of %s: it starts at block %d, inside an "
          + "offset group of G=%d blocks (the planner cuts units at multiples of G)", u.id(), u.tensor(),
          u.firstBlock(), codec.groupBlocks()));
    }
    // each unit holds whole groups, so it chooses its groups' exponent offsets from what it read
    int[] offsets = codec.groupOffsets(w, 0, u.numBlocks());
    byte[] packed = new byte[(int) codec.packedBytes(u.numBlocks())];
    codec.encode(w, 0, u.numBlocks(), offsets, packed, 0);
    float[] what = new float[w.length];
    codec.decode(packed, 0, u.numBlocks(), offsets, what, 0);

    int layer = TensorSelection.layerOf(u.tensor());
    String kind = TensorSelection.kindOf(u.tensor());

    List<BlockRow> rows = new ArrayList<>(u.numBlocks());
    ErrorStats unitStats = new ErrorStats();
    for (int b = 0; b < u.numBlocks(); b++) {
      int n = Math.min(c, count - b * c);
      ErrorStats s = new ErrorStats().add(w, b * c, what, b * c, n);
      unitStats.merge(s);
      byte[] code = new byte[(bits + 7) / 8];
      Bits.copy(packed, (long) b * bits, code, 0, bits);
      rows.add(new BlockRow(u.tensor(), layer, kind, u.id(), u.firstBlock() + b, codec.name(), code, n, bits,
          BlockTable.storedSqErr(s.sqErr(), BlockTable.LAYOUT), BlockTable.storedStat(s.sqNorm()),
          BlockTable.storedStat(s.maxAbsErr())));
    }

    return new Encoded(rows, packed, unitStats, in.sha256(), offsets);
  }

  /**
   * A unit's original weights: (numBlocks, C) row-major with the tail zero-padded, how many are real, and
   * the SHA-256 of the checkpoint bytes they were converted from (hashed while read).
   */
  public record UnitWeights(float[] weights, int count, String sha256) {}

  /**
   * Reads a unit's original weights as quantize encodes them and verify re-checks them: the unit's byte range
   * of its shard, converted to float32, with the run's non-finite policy applied.
   */
  public static UnitWeights readWeights(String modelDir, WorkUnit u, int blockSize, String nonFinite,
      Configuration conf) throws IOException {
    SafetensorsFile file = open(new Path(new Path(modelDir), u.shard()), conf);
    long numel = file.info(u.tensor()).numel();
    long firstElem = u.firstBlock() * blockSize;
    int count = (int) Math.min((long) u.numBlocks() * blockSize, numel - firstElem);
    float[] w = new float[u.numBlocks() * blockSize];
    java.security.MessageDigest md = Sha256.digest();
    file.readFloats(u.tensor(), firstElem, count, w, 0, md);
    String sha = Sha256.hex(md.digest());
    checkFinite(nonFinite, u, w, count, blockSize);
    return new UnitWeights(w, count, sha);
  }

  /** Applies the non-finite policy to the {@code count} real weights of a unit's buffer. */
  static void checkFinite(String policy, WorkUnit u, float[] w, int count, int blockSize) {
    for (int i = 0; i < count; i++) {
      if (!Float.isFinite(w[i])) {
        if (policy.equals("zero")) {
          w[i] = 0f;
        } else {
          long block = u.firstBlock() + i / blockSize;
          long element = u.firstBlock() * blockSize + i;
          throw new NonFiniteWeightsException(String.format(
              "Cannot quantize tensor %s: block %d holds %s at element %d (fix the checkpoint, or set "
                  + "--non-finite=zero to encode such weights as 0)", u.tensor(), block, w[i], element));
        }
      }
    }
  }

  /**
   * Opens a checkpoint file once per JVM and version of the file (headers are parsed once; reads
   * are positional and thread-safe).
   */
  static SafetensorsFile open(Path path, Configuration conf) throws IOException {
    org.apache.hadoop.fs.FileStatus st = path.getFileSystem(conf).getFileStatus(path);
    String key = path + "@" + st.getLen() + "@" + st.getModificationTime();
    SafetensorsFile f = OPEN.get(key);
    if (f == null) {
      SafetensorsFile opened = SafetensorsFile.open(path, conf);
      f = OPEN.putIfAbsent(key, opened);
      if (f == null) {
        f = opened;
      } else {
        opened.close();
      }
    }
    return f;
  }

  /** Forgets cached open files (tests that rewrite a checkpoint in place call this). */
  public static void closeCachedFiles() {
    for (SafetensorsFile f : OPEN.values()) {
      try {
        f.close();
      } catch (IOException ignored) {
        // closing a read-only file
      }
    }
    OPEN.clear();
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
