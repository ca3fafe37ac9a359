package org.seedlm.pipeline.kernel;

import java.util.Map;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Drop-in replacement for {@link SeedLmCodec}: same name, params, rule, offset groups and bit layout,
 * identical encoded bits (the search returns the reference's arg-min, ties to the smallest seed), and
 * the reference's canonical decoder. Encoding uses {@link FastSeedSearch}.
 */
public final class FastSeedLmCodec implements BlockCodec {
  private final SeedLmCodec ref;
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
    this.ref = ref;
    this.search = new FastSeedSearch(ref.seedLmParams(), ref.rule(), threads, vectorBitSize);
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
    if (nBlocks == 0) return;
    FastSeedSearch.Result r = search.search(w, wOff, nBlocks, offsets, ref.groupBlocks());
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
  public void decode(byte[] in, long inBitOff, int nBlocks, int[] offsets, float[] out, int outOff) {
    ref.decode(in, inBitOff, nBlocks, offsets, out, outOff);
  }

  @Override
  public String toString() {
    return name();
  }
}
