package org.seedlm.pipeline.decode;

import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.eval.CompactLinear;
import org.seedlm.pipeline.eval.MatMul;

/**
 * A linear layer computed straight from a SeedLM-packed weight matrix (FORMAT.md section 6.1): W stays packed
 * in memory (K + 4 + 4P bits per C weights, 4.0 or 3.0 bits per weight instead of 32), and is never
 * materialized whole.
 *
 * <p>The fused kernel ({@link #apply}, {@link CompactLinear}): output rows go in tasks over the fork/join pool
 * of {@link MatMul}; a task decodes the blocks covering its few rows of W ({@link SeedLmDecoder#decode}: the U(s) columns
 * regenerated from the per-config LFSR cycle table, combined with the coefficients, bit for bit the canonical
 * decode) into a buffer that stays in the L1/L2 cache, then multiplies every input row by them with
 * {@link MatMul#rows}; each block is decoded once per call, whatever the number of input rows. Matrix-vector
 * (generation) with the 4-bit layout and rows of whole vectors skips the buffer ({@link #direct}, {@link
 * SeedLmDecoder#dotRows}): each block's weights are built in registers and multiplied into the accumulator at
 * once, four rows at a time. The result is bit for bit {@code MatMul.linear(x, decode(W))} (decoding first,
 * then multiplying), because the decoded weights are the same bits and MatMul's per-element summation order
 * does not depend on which rows it is given.
 *
 * <p>The scalar twin ({@link #applyRef}) defines what the product is: the reference decoder
 * ({@link SeedLmDecoder#decodeRef}) and a float64 dot product per element, rounded once. The fast kernel
 * differs from it only by float32 summation: {@code |fast - ref| <= gamma(in) * sum_i |x_i w_i|} with
 * {@code gamma(n) = n u / (1 - n u)}, {@code u = 2^-24} (the standard bound of a float32 dot product of n
 * terms in any order, FMA or not), plus half an ulp for the twin's own final rounding.
 *
 * <p>Blocks cut the flattened {@code [out, in]} tensor in row-major order (SPEC section 6), so a block may
 * straddle two rows when {@code in} is not a multiple of C, and the last block is zero-padded: rows are
 * decoded from the first block that touches them, and the padding is never read.
 */
public final class SeedLmLinear extends CompactLinear {
  private final SeedLmDecoder decoder;
  private final byte[] packed;
  private final int c;
  private final int[] offsets; // (groups,) exponent offset per group of G blocks (format version 2), or empty
  private final int groupBlocks; // G, 0: version 1
  private final boolean fusedDot; // matrix-vector by SeedLmDecoder.dot

  /**
   * A version 1 layer (every exponent offset 0).
   *
   * @param packed the tensor's packed blocks, {@code ceil(out * in / C)} of them
   * @param bias optional {@code [out]}
   */
  public SeedLmLinear(SeedLmParams params, byte[] packed, int out, int in, float[] bias) {
    this(params, packed, new int[0], 0, out, in, bias);
  }

  /**
   * @param packed the tensor's packed blocks, {@code ceil(out * in / C)} of them
   * @param offsets the tensor's exponent offsets, one per group of {@code groupBlocks} blocks (format
   *     version 2), each in [-100, 100]; empty for version 1
   * @param groupBlocks G; 0 for version 1
   * @param bias optional {@code [out]}
   */
  public SeedLmLinear(SeedLmParams params, byte[] packed, int[] offsets, int groupBlocks, int out, int in,
      float[] bias) {
    super(out, in, bias);
    this.decoder = SeedLmDecoder.of(params);
    this.c = params.c();
    long blocks = ((long) out * in + c - 1) / c;
    if (packed.length < (blocks * params.bitsPerBlock() + 7) / 8) {
      throw new IllegalArgumentException("SeedLM linear [" + out + ", " + in + "]: " + packed.length
          + " packed bytes for " + blocks + " blocks of " + params.bitsPerBlock() + " bits");
    }
    this.packed = packed;
    long groups = groupBlocks == 0 || offsets.length == 0 ? 0 : (blocks + groupBlocks - 1) / groupBlocks;
    if (groupBlocks < 0 || (offsets.length != 0 && offsets.length != groups)) {
      throw new IllegalArgumentException("SeedLM linear [" + out + ", " + in + "]: " + offsets.length
          + " exponent offsets for " + blocks + " blocks in groups of G=" + groupBlocks);
    }
    for (int o : offsets) {
      if (o < SeedLmCodec.MIN_OFFSET || o > SeedLmCodec.MAX_OFFSET) {
        throw new IllegalArgumentException("SeedLM linear [" + out + ", " + in + "]: exponent offset " + o
            + " outside [-100, 100]");
      }
    }
    this.offsets = offsets.clone();
    this.groupBlocks = groupBlocks;
    this.fusedDot = decoder.canDot(in) && !Boolean.getBoolean("seedlm.linear.decodeThenMultiply");
  }

  @Override
  protected long weightBytes() {
    return packed.length;
  }

  @Override
  protected int bufferFloats(int rows) {
    return (rows * in / c + 2) * c;
  }

  /** Decodes the blocks from the one holding weight (lo, 0) to the one holding (hi - 1, in - 1). */
  @Override
  protected int rowsToFloats(int lo, int hi, float[] buf) {
    long first = (long) lo * in / c;
    long end = ((long) hi * in + c - 1) / c;
    decoder.decode(packed, first, Math.toIntExact(end - first), offsets, groupBlocks, buf, 0);
    return Math.toIntExact((long) lo * in - first * c);
  }

  /**
   * Matrix-vector (one input row) with the 4-bit layout and rows of whole vectors ({@link SeedLmDecoder#canDot}):
   * each output element straight from the row's packed bits by {@link SeedLmDecoder#dotRows}, four rows at a
   * time, the weights never written; bit for bit the decode-then-multiply path. Otherwise (prompt, other configs
   * and shapes) false.
   */
  @Override
  protected boolean direct(float[] x, int rows, float[] y, int lo, int hi) {
    if (rows != 1 || !fusedDot) {
      return false;
    }
    int nb = in / c;
    int[] offset = new int[SeedLmDecoder.DOT_ROWS * nb]; // exponent offset of each block of the rows, 0 for version 1
    SeedLmDecoder.DotScratch scratch = new SeedLmDecoder.DotScratch();
    for (int o = lo; o < hi; o += SeedLmDecoder.DOT_ROWS) {
      int n = Math.min(SeedLmDecoder.DOT_ROWS, hi - o);
      long first = (long) o * nb;
      if (offsets.length > 0) {
        decoder.blockOffsets(first, n * nb, offsets, groupBlocks, offset);
      }
      decoder.dotRows(packed, first, nb, n, offset, x, 0, scratch, y, o);
      if (bias != null) {
        for (int r = o; r < o + n; r++) {
          y[r] += bias[r];
        }
      }
    }
    return true;
  }

  /**
   * The scalar twin: W decoded row by row by the reference decoder, then each element
   * {@code (float) (sum_i (double) x_i * w_i) + b} (float64 products and sums in ascending i).
   */
  public void applyRef(float[] x, int rows, float[] y) {
    float[] w = new float[in + 2 * c];
    for (int o = 0; o < out; o++) {
      long first = (long) o * in / c;
      long end = ((long) (o + 1) * in + c - 1) / c;
      decoder.decodeRef(packed, first, Math.toIntExact(end - first), offsets, groupBlocks, w, 0);
      int off = Math.toIntExact((long) o * in - first * c);
      for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int i = 0; i < in; i++) {
          s += (double) x[r * in + i] * w[off + i];
        }
        y[r * out + o] = (float) s + (bias == null ? 0f : bias[o]);
      }
    }
  }
}
