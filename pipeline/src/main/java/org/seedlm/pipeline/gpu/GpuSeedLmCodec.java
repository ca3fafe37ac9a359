package org.seedlm.pipeline.gpu;

import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SearchingSeedLmCodec;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;

/**
 * Drop-in replacement for a {@link SeedLmCodec} whose seed search runs on a {@link SeedLmAccelerator}: the
 * reference's arg-min under its coefficient rule and with its group offsets (format version 2; version 1
 * when the codec has no groups), ties to the smallest seed, so the encoded bits are the reference's.
 */
public final class GpuSeedLmCodec extends SearchingSeedLmCodec {
  private final SeedLmAccelerator device;

  public GpuSeedLmCodec(SeedLmCodec ref, SeedLmAccelerator device) {
    super(ref);
    this.device = device;
  }

  public SeedLmAccelerator device() {
    return device;
  }

  @Override
  protected void encodeChecked(float[] w, int wOff, int nBlocks, int[] offsets, byte[] out, long outBitOff) {
    byte[] off = null; // version 1: no offsets
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
  public String toString() {
    return label() + " on " + device.describe();
  }
}
