package org.seedlm.pipeline.pack;

import java.io.Closeable;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.codec.TensorCodecs;
import org.seedlm.pipeline.pack.PackedFormat.TensorMeta;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.CheckpointException;
import org.seedlm.pipeline.safetensors.SafetensorsFile;

/**
 * Reads a packed model (see {@code pipeline/FORMAT.md}) and decodes its tensors with the reference
 * decoder: the codec's canonical {@link BlockCodec#decode}, or for a tensor-level codec (its metadata
 * records its byte length) {@link TensorCodec#decode}.
 */
public final class PackedModel implements Closeable {
  private final Checkpoint ckpt;
  private final Map<String, TensorMeta> quantized = new TreeMap<>();

  private PackedModel(Checkpoint ckpt) throws CheckpointException {
    this.ckpt = ckpt;
    for (String shard : ckpt.shards()) {
      SafetensorsFile f = ckpt.shard(shard);
      Map<String, String> md = f.metadata();
      String fmt = md.get(PackedFormat.KEY_FORMAT);
      if (!PackedFormat.FORMAT_NAME.equals(fmt)) {
        throw CheckpointException.file(shard, String.format(
            "is not a packed model (metadata %s is %s, expected %s)", PackedFormat.KEY_FORMAT, fmt,
            PackedFormat.FORMAT_NAME));
      }
      String ver = md.get(PackedFormat.KEY_VERSION);
      if (!PackedFormat.knownVersion(ver)) {
        throw CheckpointException.file(shard, String.format(
            "has packed format version %s; this reader knows versions %d and %d (upgrade seedlm-spark)", ver,
            PackedFormat.VERSION_1, PackedFormat.VERSION));
      }
      boolean v1 = Integer.toString(PackedFormat.VERSION_1).equals(ver);
      for (Map.Entry<String, String> e : md.entrySet()) {
        if (e.getKey().startsWith(PackedFormat.KEY_TENSOR_PREFIX)) {
          String name = e.getKey().substring(PackedFormat.KEY_TENSOR_PREFIX.length());
          TensorMeta meta = TensorMeta.fromJson(e.getValue());
          String stored = name + PackedFormat.PACKED_SUFFIX;
          if (!f.contains(stored)) {
            throw CheckpointException.tensor(shard, stored, "is described in the metadata but not stored");
          }
          if (meta.flags() != 0) {
            throw CheckpointException.tensor(shard, stored, "has reserved flags " + meta.flags()
                + " set (written by a newer seedlm-spark?)");
          }
          checkOffsets(shard, stored, meta, v1);
          if (f.info(stored).byteLength() != meta.packedBytes()) {
            throw CheckpointException.tensor(shard, stored, String.format(
                "holds %d bytes, its metadata implies %d", f.info(stored).byteLength(), meta.packedBytes()));
          }
          quantized.put(name, meta);
        }
      }
    }
  }

  /**
   * Format version 1 has no exponent offsets; version 2 has, for a tensor with G &gt; 0, exactly one per
   * group, each in [-100, 100].
   */
  private static void checkOffsets(String shard, String stored, TensorMeta meta, boolean v1)
      throws CheckpointException {
    int g = meta.groupBlocks();
    if (v1 && (g != 0 || meta.offsets() != null)) {
      throw CheckpointException.tensor(shard, stored, "has exponent offsets (G=" + g + ") in a format version "
          + PackedFormat.VERSION_1 + " file, which has none");
    }
    if (g < 0) {
      throw CheckpointException.tensor(shard, stored, "has G=" + g + "; G must be >= 0");
    }
    int[] o = meta.offsetValues();
    long groups = g == 0 ? 0 : (meta.blocks() + g - 1) / g;
    if (o.length != groups) {
      throw CheckpointException.tensor(shard, stored, String.format(
          "has %d exponent offsets; %d blocks in groups of G=%d need %d", o.length, meta.blocks(), g, groups));
    }
    for (int i = 0; i < o.length; i++) {
      if (o[i] < SeedLmCodec.MIN_OFFSET || o[i] > SeedLmCodec.MAX_OFFSET) {
        throw CheckpointException.tensor(shard, stored, String.format(
            "has exponent offset %d for group %d; offsets must be in [%d, %d]", o[i], i, SeedLmCodec.MIN_OFFSET,
            SeedLmCodec.MAX_OFFSET));
      }
    }
  }

  /** Opens a packed model directory (for example {@code RUN/packed}). */
  public static PackedModel open(Path dir, Configuration conf) throws IOException {
    Checkpoint c = Checkpoint.open(dir, conf);
    try {
      return new PackedModel(c);
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** Quantized tensors (original names) and their decoding information. */
  public Map<String, TensorMeta> quantized() {
    return java.util.Collections.unmodifiableMap(quantized);
  }

  /** The underlying safetensors checkpoint (for the kept tensors). */
  public Checkpoint checkpoint() {
    return ckpt;
  }

  /** The codec of a quantized tensor, checked against its metadata. */
  public BlockCodec codec(String name) throws CheckpointException {
    TensorMeta m = meta(name);
    if (m.isTensorCodec()) {
      throw new IllegalStateException("Cannot use " + name + " as a block-codec tensor: it is encoded by the "
          + "tensor codec " + m.codec() + " (check TensorMeta.isTensorCodec, use tensorCodec)");
    }
    BlockCodec c = Codecs.parse(m.codec(), m.params());
    if (c.blockSize() != m.blockSize() || c.bitsPerBlock() != m.bitsPerBlock()
        || !new TreeMap<>(c.params()).equals(m.params())) {
      throw CheckpointException.tensor(ckpt.location().toString(), name, String.format(
          "names codec %s with block size %d, %d bits, params %s, but this build's %s has %d, %d, %s",
          m.codec(), m.blockSize(), m.bitsPerBlock(), m.params(), c.name(), c.blockSize(), c.bitsPerBlock(),
          c.params()));
    }
    return c;
  }

  /** The bits a quantized tensor costs: its encoded bytes (tensor codec), else its codec's stored bits. */
  public long storedBits(String name) throws CheckpointException {
    TensorMeta m = meta(name);
    return m.isTensorCodec() ? 8 * m.packedBytes() : codec(name).storedBits(m.blocks());
  }

  /** The tensor-level codec of a quantized tensor ({@link TensorMeta#isTensorCodec}), checked against its metadata. */
  public TensorCodec tensorCodec(String name) throws CheckpointException {
    TensorMeta m = meta(name);
    try {
      return TensorCodecs.parse(m.codec(), m.params());
    } catch (org.seedlm.pipeline.BadInputException e) {
      throw CheckpointException.tensor(ckpt.location().toString(), name, e.getMessage());
    }
  }

  /**
   * The exponent offsets of a quantized tensor (format version 2), one per group of {@link
   * TensorMeta#groupBlocks()} blocks; empty without (version 1: every offset 0). Checked on open.
   */
  public int[] offsets(String name) throws CheckpointException {
    return meta(name).offsetValues();
  }

  /** The packed bytes of a quantized tensor. */
  public byte[] packedBytes(String name) throws IOException {
    TensorMeta m = meta(name);
    return ckpt.readBytes(name + PackedFormat.PACKED_SUFFIX, 0, Math.toIntExact(m.packedBytes()));
  }

  /** Decodes a whole quantized tensor (row-major, padding dropped) with the reference decoder. */
  public float[] decode(String name) throws IOException {
    TensorMeta m = meta(name);
    if (m.isTensorCodec()) {
      int[] rc = TensorCodec.matrixShape(m.shape());
      return tensorCodec(name).decode(packedBytes(name), rc[0], rc[1]);
    }
    BlockCodec c = codec(name);
    byte[] packed = packedBytes(name);
    int blocks = Math.toIntExact(m.blocks());
    float[] out = new float[Math.multiplyExact(blocks, c.blockSize())];
    c.decode(packed, 0, blocks, m.offsetValues(), out, 0);
    return java.util.Arrays.copyOf(out, Math.toIntExact(m.numel()));
  }

  private TensorMeta meta(String name) throws CheckpointException {
    TensorMeta m = quantized.get(name);
    if (m == null) {
      throw CheckpointException.tensor(ckpt.location().toString(), name, "is not a quantized tensor of this model");
    }
    return m;
  }

  @Override
  public void close() throws IOException {
    ckpt.close();
  }
}
