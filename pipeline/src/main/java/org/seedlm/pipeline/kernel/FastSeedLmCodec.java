package org.seedlm.pipeline.kernel;

import org.seedlm.pipeline.codec.SearchingSeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Drop-in replacement for {@link SeedLmCodec}: same name, params, rule, offset groups and bit layout,
 * identical encoded bits (the search returns the reference's arg-min, ties to the smallest seed), and
 * the reference's canonical decoder. Encoding uses {@link FastSeedSearch}.
 */
public final class FastSeedLmCodec extends SearchingSeedLmCodec {
  private final FastSeedSearch search;

  /** The version 1 codec ({@link SeedLmCodec#SeedLmCodec(SeedLmParams)}), all processors, default vector path. */
  public FastSeedLmCodec(SeedLmParams params) {
    this(params, Runtime.getRuntime().availableProcessors(), FastSeedSearch.defaultVectorBitSize());
  }

  /** The version 1 codec; {@code vectorBitSize == 0} forces the scalar path. */
  public FastSeedLmCodec(SeedLmParams params, int threads, int vectorBitSize) {
    this(new SeedLmCodec(params), threads, vectorBitSize);
  }

  /** The fast twin of {@code ref} (its params, rule and G); {@code vectorBitSize == 0} forces the scalar path. */
  public FastSeedLmCodec(SeedLmCodec ref, int threads, int vectorBitSize) {
    super(ref);
    this.search = new FastSeedSearch(ref.seedLmParams(), ref.rule(), threads, vectorBitSize);
  }

  public FastSeedSearch search() {
    return search;
  }

  @Override
  protected void encodeChecked(float[] w, int wOff, int nBlocks, int[] offsets, byte[] out, long outBitOff) {
    FastSeedSearch.Result r = search.search(w, wOff, nBlocks, offsets, ref.groupBlocks());
    int p = ref.seedLmParams().p();
    int[] q = new int[p];
    for (int b = 0; b < nBlocks; b++) {
      System.arraycopy(r.q, b * p, q, 0, p);
      ref.writeBlock(out, outBitOff + (long) b * bitsPerBlock(), r.seed[b], r.exp[b], q);
    }
  }

  @Override
  public String toString() {
    return name();
  }
}
