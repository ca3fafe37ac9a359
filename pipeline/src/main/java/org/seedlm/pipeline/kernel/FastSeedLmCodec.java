package org.seedlm.pipeline.kernel;

import java.util.Map;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * SeedLM with the fast exact search: the same name, parameters, bits and canonical decoder as
 * {@link SeedLmCodec}, and the same chosen block errors (seeds equal except on exact ties, which
 * both resolve to the smallest seed), so jobs can swap it in freely.
 */
public final class FastSeedLmCodec implements BlockCodec {
  private final SeedLmCodec reference;
  private final FastSeedSearch search;

  /**
   * @param params SeedLM parameters
   * @param threads threads per encode call (1 inside a Spark task: Spark already runs one task per core)
   */
  public FastSeedLmCodec(SeedLmParams params, int threads) {
    this.reference = new SeedLmCodec(params);
    this.search = new FastSeedSearch(params, threads, FastSeedSearch.defaultVectorBitSize());
  }

  @Override
  public String name() {
    return reference.name();
  }

  @Override
  public Map<String, String> params() {
    return reference.params();
  }

  @Override
  public int blockSize() {
    return reference.blockSize();
  }

  @Override
  public int bitsPerBlock() {
    return reference.bitsPerBlock();
  }

  @Override
  public void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff) {
    FastSeedSearch.Result r = search.search(w, wOff, nBlocks);
    int p = reference.seedLmParams().p();
    int[] q = new int[p];
    for (int b = 0; b < nBlocks; b++) {
      System.arraycopy(r.q, b * p, q, 0, p);
      reference.writeBlock(out, outBitOff + (long) b * bitsPerBlock(), r.seed[b], r.exp[b], q);
    }
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    reference.decode(in, inBitOff, nBlocks, out, outOff);
  }

  @Override
  public String toString() {
    return name() + " (fast search, " + search.threads() + " thread(s), " + (search.isVector() ? "SIMD" : "scalar")
        + ")";
  }
}
