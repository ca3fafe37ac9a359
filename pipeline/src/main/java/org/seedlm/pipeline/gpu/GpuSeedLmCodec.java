package org.seedlm.pipeline.gpu;

import java.util.Map;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Drop-in replacement for {@link SeedLmCodec} whose seed search runs on a {@link SeedLmAccelerator}
 * (version 1, {@code nearest}: the reference's arg-min, ties to the smallest seed, so the encoded
 * bits are the reference's); same name, params and bit layout, the reference's canonical decoder.
 */
public final class GpuSeedLmCodec implements BlockCodec {
  private final SeedLmCodec ref;
  private final SeedLmAccelerator device;

  public GpuSeedLmCodec(SeedLmParams params, SeedLmAccelerator device) {
    this.ref = new SeedLmCodec(params);
    this.device = device;
  }

  public SeedLmAccelerator device() {
    return device;
  }

  @Override
  public String name() {
    return ref.name();
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
  public void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff) {
    if (out == null || outBitOff < 0 || outBitOff + (long) nBlocks * bitsPerBlock() > 8L * out.length) {
      throw new IllegalArgumentException(
          "Cannot encode " + nBlocks + " blocks at bit offset " + outBitOff + ": output too small");
    }
    SeedChoice[] r = device.search(ref.seedLmParams(), w, wOff, nBlocks, null, 1, SeedLmAccelerator.RULE_NEAREST);
    for (int b = 0; b < nBlocks; b++) {
      ref.writeBlock(out, outBitOff + (long) b * bitsPerBlock(), r[b].seed(), r[b].exponent(), r[b].q());
    }
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    ref.decode(in, inBitOff, nBlocks, out, outOff);
  }

  @Override
  public String toString() {
    return name() + " on " + device.describe();
  }
}
