package org.seedlm.pipeline.codec;

import java.util.Arrays;
import java.util.Map;

/**
 * A {@link BlockCodec} seen as a {@link TensorCodec}: the tensor flattened row-major, cut into
 * blocks, the last one zero-padded; the encoded form is the codec's per-group side data (SeedLM format
 * version 2: one signed byte of exponent offset per group, none for version 1 and other codecs) followed by
 * the packed blocks (whole bytes). So the block codecs and the tensor-level ones are measured by the same
 * code, side data included in the bits.
 */
public final class BlockTensorCodec implements TensorCodec {
  private final BlockCodec codec;

  public BlockTensorCodec(BlockCodec codec) {
    this.codec = codec;
  }

  public BlockCodec blockCodec() {
    return codec;
  }

  @Override
  public String name() {
    return codec.name();
  }

  @Override
  public Map<String, String> params() {
    return codec.params();
  }

  private int blocks(int rows, int cols) {
    return Math.toIntExact(((long) rows * cols + codec.blockSize() - 1) / codec.blockSize());
  }

  @Override
  public byte[] encode(float[] w, int rows, int cols) {
    TensorCodec.checkShape(this, "encode", w.length, rows, cols);
    int blocks = blocks(rows, cols);
    float[] padded = Arrays.copyOf(w, Math.multiplyExact(blocks, codec.blockSize()));
    int[] offsets = codec.groupOffsets(padded, 0, blocks);
    byte[] out = new byte[Math.toIntExact(offsets.length + codec.packedBytes(blocks))];
    for (int g = 0; g < offsets.length; g++) {
      out[g] = (byte) offsets[g];
    }
    byte[] bits = new byte[Math.toIntExact(codec.packedBytes(blocks))];
    codec.encode(padded, 0, blocks, offsets, bits, 0);
    System.arraycopy(bits, 0, out, offsets.length, bits.length);
    return out;
  }

  @Override
  public float[] decode(byte[] encoded, int rows, int cols) {
    TensorCodec.checkShape(this, "decode", (long) rows * cols, rows, cols);
    int blocks = blocks(rows, cols);
    int[] offsets = new int[Math.toIntExact(codec.groups(blocks))];
    for (int g = 0; g < offsets.length; g++) {
      offsets[g] = encoded[g];
    }
    float[] out = new float[blocks * codec.blockSize()];
    codec.decode(encoded, 8L * offsets.length, blocks, offsets, out, 0);
    return Arrays.copyOf(out, rows * cols);
  }

  @Override
  public String toString() {
    return name();
  }
}
