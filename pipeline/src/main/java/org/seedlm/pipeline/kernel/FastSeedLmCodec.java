package org.seedlm.pipeline.kernel;

import java.util.Map;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Drop-in replacement for {@link SeedLmCodec}: same name, params and bit layout, identical encoded
 * bits (the search returns the reference's arg-min, ties to the smallest seed), and the reference's
 * canonical decoder. Encoding uses {@link FastSeedSearch}.
 */
public final class FastSeedLmCodec implements BlockCodec {
  private final SeedLmCodec ref;
  private final FastSeedSearch search;

  /** All processors, vector path unless {@code -Dseedlm.vectorBitSize=0}. */
  public FastSeedLmCodec(SeedLmParams params) {
    this(params, Runtime.getRuntime().availableProcessors(), FastSeedSearch.defaultVectorBitSize());
  }

  /** {@code vectorBitSize == 0} forces the scalar path. */
  public FastSeedLmCodec(SeedLmParams params, int threads, int vectorBitSize) {
    this.ref = new SeedLmCodec(params);
    this.search = new FastSeedSearch(params, threads, vectorBitSize);
  }

  public SeedLmCodec reference() {
    return ref;
  }

  public FastSeedSearch search() {
    return search;
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
    int c = blockSize();
    if (nBlocks < 0 || wOff < 0 || (long) wOff + (long) nBlocks * c > w.length) {
      throw new IllegalArgumentException(
          "Cannot encode " + nBlocks + " blocks at offset " + wOff + ": weight array has " + w.length);
    }
    if (out == null || outBitOff < 0 || outBitOff + (long) nBlocks * bitsPerBlock() > 8L * out.length) {
      throw new IllegalArgumentException(
          "Cannot encode " + nBlocks + " blocks at bit offset " + outBitOff + ": output too small");
    }
    if (nBlocks == 0) return;
    FastSeedSearch.Result r = search.search(w, wOff, nBlocks);
    int p = ref.seedLmParams().p();
    int[] q = new int[p];
    for (int b = 0; b < nBlocks; b++) {
      System.arraycopy(r.q, b * p, q, 0, p);
      ref.writeBlock(out, outBitOff + (long) b * bitsPerBlock(), r.seed[b], r.exp[b], q);
    }
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    ref.decode(in, inBitOff, nBlocks, out, outOff);
  }

  @Override
  public String toString() {
    return name();
  }
}
