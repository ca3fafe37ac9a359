package org.seedlm.pipeline.codec;

import java.util.Map;

/**
 * A drop-in replacement for a reference {@link SeedLmCodec} whose seed search runs elsewhere (the SIMD kernel,
 * a GPU): name, params, rule, offset groups, bit layout and the canonical decoder are the reference's, and the
 * search must return the reference's arg-min (ties to the smallest seed), so the encoded bits are identical.
 * Subclasses implement only {@link #encodeChecked}, the search of arguments already checked here.
 */
public abstract class SearchingSeedLmCodec implements BlockCodec {
  protected final SeedLmCodec ref;

  protected SearchingSeedLmCodec(SeedLmCodec ref) {
    this.ref = ref;
  }

  /** The reference codec this one reproduces. */
  public final SeedLmCodec reference() {
    return ref;
  }

  /**
   * Encodes {@code nBlocks > 0} blocks with the group {@code offsets} (checked: one per group, in range; the
   * output is large enough): the reference's choice for every block, written with {@link SeedLmCodec#writeBlock}.
   */
  protected abstract void encodeChecked(float[] w, int wOff, int nBlocks, int[] offsets, byte[] out, long outBitOff);

  @Override
  public final String name() {
    return ref.name();
  }

  @Override
  public final String label() {
    return ref.label();
  }

  @Override
  public final Map<String, String> params() {
    return ref.params();
  }

  @Override
  public final int blockSize() {
    return ref.blockSize();
  }

  @Override
  public final int bitsPerBlock() {
    return ref.bitsPerBlock();
  }

  @Override
  public final double bitsPerWeight() {
    return ref.bitsPerWeight();
  }

  @Override
  public final int groupBlocks() {
    return ref.groupBlocks();
  }

  @Override
  public final int[] groupOffsets(float[] w, int wOff, int nBlocks) {
    return ref.groupOffsets(w, wOff, nBlocks);
  }

  @Override
  public final void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff) {
    encode(w, wOff, nBlocks, new int[Math.toIntExact(ref.groups(nBlocks))], out, outBitOff);
  }

  @Override
  public final void encode(float[] w, int wOff, int nBlocks, int[] offsets, byte[] out, long outBitOff) {
    int c = blockSize();
    if (nBlocks < 0 || wOff < 0 || (long) wOff + (long) nBlocks * c > w.length) {
      throw new IllegalArgumentException(
          "Cannot encode " + nBlocks + " blocks at offset " + wOff + ": weight array has " + w.length);
    }
    if (out == null || outBitOff < 0 || outBitOff + (long) nBlocks * bitsPerBlock() > 8L * out.length) {
      throw new IllegalArgumentException(
          "Cannot encode " + nBlocks + " blocks at bit offset " + outBitOff + ": output too small");
    }
    ref.checkOffsets(offsets, nBlocks);
    if (nBlocks > 0) {
      encodeChecked(w, wOff, nBlocks, offsets, out, outBitOff);
    }
  }

  @Override
  public final void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    ref.decode(in, inBitOff, nBlocks, out, outOff);
  }

  @Override
  public final void decode(byte[] in, long inBitOff, int nBlocks, int[] offsets, float[] out, int outOff) {
    ref.decode(in, inBitOff, nBlocks, offsets, out, outOff);
  }
}
