package org.seedlm.pipeline.gpu;

import java.util.Map;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;

/**
 * Drop-in replacement for a {@link SeedLmCodec} whose seed search runs on a {@link SeedLmAccelerator}: the
 * reference's arg-min under its coefficient rule and with its group offsets (format version 2; version 1
 * when the codec has no groups), ties to the smallest seed, so the encoded bits are the reference's. Name,
 * params, groups, offsets and bit layout are the reference codec's, and so is the canonical decoder.
 */
public final class GpuSeedLmCodec implements BlockCodec {
  private final SeedLmCodec ref;
  private final SeedLmAccelerator device;

  public GpuSeedLmCodec(SeedLmCodec ref, SeedLmAccelerator device) {
    this.ref = ref;
    this.device = device;
  }

  public SeedLmAccelerator device() {
    return device;
  }

  public SeedLmCodec reference() {
    return ref;
  }

  @Override
  public String name() {
    return ref.name();
  }

  @Override
  public String label() {
    return ref.label();
  }

  @Override
  public Map<String, String> params() {
    return ref.params();
  }

  @Override
  public int blockSize() {
    return ref.blockSize();
  }

  @Override
  public int bitsPerBlock() {
    return ref.bitsPerBlock();
  }

  @Override
  public double bitsPerWeight() {
    return ref.bitsPerWeight();
  }

  @Override
  public int groupBlocks() {
    return ref.groupBlocks();
  }

  @Override
  public int[] groupOffsets(float[] w, int wOff, int nBlocks) {
    return ref.groupOffsets(w, wOff, nBlocks);
  }

  @Override
  public void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff) {
    encode(w, wOff, nBlocks, new int[Math.toIntExact(ref.groups(nBlocks))], out, outBitOff);
  }

  @Override
  public void encode(float[] w, int wOff, int nBlocks, int[] offsets, byte[] out, long outBitOff) {
    if (out == null || outBitOff < 0 || outBitOff + (long) nBlocks * bitsPerBlock() > 8L * out.length) {
      throw new IllegalArgumentException(
          "Cannot encode " + nBlocks + " blocks at bit offset " + outBitOff + ": output too small");
    }
    ref.checkOffsets(offsets, nBlocks);
    byte[] off = null;
    if (ref.groupBlocks() > 0) {
      off = new byte[offsets.length];
      for (int g = 0; g < offsets.length; g++) {
        off[g] = (byte) offsets[g];
      }
    }
    int rule = ref.rule() == CoefficientRule.BEST ? SeedLmAccelerator.RULE_BEST : SeedLmAccelerator.RULE_NEAREST;
    SeedChoice[] r = device.search(ref.seedLmParams(), w, wOff, nBlocks, off, Math.max(1, ref.groupBlocks()), rule);
    for (int b = 0; b < nBlocks; b++) {
      ref.writeBlock(out, outBitOff + (long) b * bitsPerBlock(), r[b].seed(), r[b].exponent(), r[b].q());
    }
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    ref.decode(in, inBitOff, nBlocks, out, outOff);
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, int[] offsets, float[] out, int outOff) {
    ref.decode(in, inBitOff, nBlocks, offsets, out, outOff);
  }

  @Override
  public String toString() {
    return label() + " on " + device.describe();
  }
}
