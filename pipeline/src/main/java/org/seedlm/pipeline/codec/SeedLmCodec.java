package org.seedlm.pipeline.codec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SeedLM codec (SPEC) with the plain reference exact search.
 *
 * <h2>Encoding (reference search, SPEC sections 4 and 5)</h2>
 *
 * The block w (C weights) is widened to float64. For every seed s = 1..2^K-1, in increasing order,
 * {@link #quantizedError} computes, in float64:
 *
 * <ol>
 *   <li>{@code t_j = sum_{i=0..C-1} pinv_s[j][i] * w_i} (i ascending, starting from 0.0; plain
 *       multiply then add, no FMA), with pinv from {@link SeedBasis};
 *   <li>{@code e = exponent(max_j |t_j|)}, {@code q_j = clamp(rint(t_j / 2^e), -8, 7)} (see {@link
 *       #exponent(double)});
 *   <li>{@code t_hat_j = q_j * 2^e} (exact);
 *   <li>{@code err = sum_{i=0..C-1} r_i * r_i} (i ascending, starting from 0.0) with {@code r_i =
 *       w_i - (u_i0 * t_hat_0 + u_i1 * t_hat_1 + ... )} (j ascending, plain multiply and add, no
 *       FMA), using the float64 U of {@link SeedBasis}.
 * </ol>
 *
 * The seed with the smallest err is chosen; on equal err the smallest seed wins (a later seed must be
 * strictly smaller to replace the current best). An all-zero block is stored as seed 1, e = -8, all
 * q = 0 (which is also what the search gives). The encoder scores only e, not e - 1.
 *
 * <h2>Packed block (SPEC section 7)</h2>
 *
 * MSB first: [K bits seed][4 bits e, two's complement][4 bits per q_j, two's complement, j = 0..P-1].
 *
 * <h2>Canonical decode</h2>
 *
 * With {@code uf} = the float32 U of {@link SeedBasis#uf()}: {@code th_j = (float) (q_j * 2^e)}
 * (exact); for each weight i: {@code acc = uf[i][0] * th_0} (float multiply), then for j = 1..P-1
 * {@code acc = Math.fma(uf[i][j], th_j, acc)} (float FMA); {@code out_i = acc}. Every faster decoder
 * must reproduce this bit for bit.
 *
 * <p>Instances are immutable and thread-safe; the per-seed tables are shared per params.
 */
public final class SeedLmCodec implements BlockCodec {

  /** Smallest and largest exponent and coefficient value (4-bit two's complement). */
  public static final int MIN_CODE = -8;

  public static final int MAX_CODE = 7;

  private final SeedLmParams params;
  private final SeedBasis basis;

  public SeedLmCodec(SeedLmParams params) {
    if (params == null) {
      throw new IllegalArgumentException("Cannot create SeedLM codec: params are required");
    }
    this.params = params;
    this.basis = SeedBasis.of(params);
  }

  public SeedLmParams seedLmParams() {
    return params;
  }

  public SeedBasis basis() {
    return basis;
  }

  @Override
  public String name() {
    return params.name();
  }

  @Override
  public Map<String, String> params() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("C", Integer.toString(params.c()));
    m.put("P", Integer.toString(params.p()));
    m.put("K", Integer.toString(params.k()));
    return m;
  }

  @Override
  public int blockSize() {
    return params.c();
  }

  @Override
  public int bitsPerBlock() {
    return params.bitsPerBlock();
  }

  // ---------------------------------------------------------------------------------------------
  // Coefficient quantization

  /**
   * The shared exponent: the smallest integer e with {@code maxAbs <= 7.5 * 2^e}, clamped to [-8,
   * 7]. Exact (no logarithm): zero, subnormals and anything {@code <= 7.5 * 2^-8} give -8, anything
   * above {@code 7.5 * 2^7} (including infinity) gives 7.
   *
   * @throws IllegalArgumentException for NaN or negative input
   */
  public static int exponent(double maxAbs) {
    if (!(maxAbs >= 0.0)) {
      throw new IllegalArgumentException(
          "Cannot compute exponent of maxAbs=" + maxAbs + ": maxAbs must be >= 0 and not NaN");
    }
    if (maxAbs <= 0x1.ep-6) { // 7.5 * 2^-8
      return MIN_CODE;
    }
    if (maxAbs > 0x1.ep9) { // 7.5 * 2^7
      return MAX_CODE;
    }
    // maxAbs is normal here, in [2^g, 2^(g+1)); 7.5*2^(g-3) < 2^g <= maxAbs <= 2^(g+1) < 7.5*2^(g-1)
    int g = Math.getExponent(maxAbs);
    int e = maxAbs <= Math.scalb(7.5, g - 2) ? g - 2 : g - 1;
    return Math.max(MIN_CODE, Math.min(MAX_CODE, e));
  }

  /** {@code clamp(rint(t / 2^e), -8, 7)}; the division is an exact scaling. */
  public static int quantize(double t, int e) {
    double r = Math.rint(Math.scalb(t, -e));
    if (r < MIN_CODE) {
      return MIN_CODE;
    }
    if (r > MAX_CODE) {
      return MAX_CODE;
    }
    return (int) r;
  }

  // ---------------------------------------------------------------------------------------------
  // Reference search

  /** Reference exact search over all seeds for {@code w[off .. off+C)}. */
  public SeedChoice searchRef(float[] w, int off) {
    return searchRef(widen(w, off), 0);
  }

  /** Reference exact search over all seeds for {@code w[off .. off+C)}. */
  public SeedChoice searchRef(double[] w, int off) {
    checkBlock(w, off);
    int p = params.p();
    int[] q = new int[p + 1];
    double[] th = new double[p];
    if (isZero(w, off)) {
      return new SeedChoice(1, MIN_CODE, new int[p], 0.0);
    }
    int n = params.numSeeds();
    double best = Double.POSITIVE_INFINITY;
    int bestSeed = -1;
    for (int s = 1; s <= n; s++) {
      double err = eval(w, off, s, q, th);
      if (err < best) {
        best = err;
        bestSeed = s;
      }
    }
    if (bestSeed < 0) {
      throw new IllegalStateException("Cannot search block: no seed has a finite error");
    }
    return choice(w, off, bestSeed);
  }

  /** Reference search of one block given as an array of exactly C weights. */
  public SeedChoice searchRef(double[] w) {
    return searchRef(w, 0);
  }

  /**
   * The quantized squared error of {@code seed} for the block {@code w[off .. off+C)}, computed
   * exactly as the reference search does (bit-identical), see the class Javadoc.
   */
  public double quantizedError(double[] w, int off, int seed) {
    checkBlock(w, off);
    basis.checkSeed(seed);
    int p = params.p();
    return eval(w, off, seed, new int[p + 1], new double[p]);
  }

  /** Seed, e, q and error of {@code seed} for the block, exactly as the reference search computes. */
  public SeedChoice choice(double[] w, int off, int seed) {
    checkBlock(w, off);
    basis.checkSeed(seed);
    int p = params.p();
    int[] q = new int[p + 1];
    double err = eval(w, off, seed, q, new double[p]);
    int[] qq = new int[p];
    System.arraycopy(q, 0, qq, 0, p);
    return new SeedChoice(seed, q[p], qq, err);
  }

  /** Writes q[0..P) and e (in q[P]); returns err. No validation. */
  private double eval(double[] w, int off, int seed, int[] q, double[] th) {
    int c = params.c();
    int p = params.p();
    int base = seed * c * p;
    double[] pinv = basis.pinv();
    double[] u = basis.u();
    double maxAbs = 0.0;
    for (int j = 0; j < p; j++) {
      double acc = 0.0;
      int row = base + j * c;
      for (int i = 0; i < c; i++) {
        acc += pinv[row + i] * w[off + i];
      }
      th[j] = acc;
      double a = Math.abs(acc);
      if (a > maxAbs) {
        maxAbs = a;
      }
    }
    int e = exponent(maxAbs);
    for (int j = 0; j < p; j++) {
      int qj = quantize(th[j], e);
      q[j] = qj;
      th[j] = Math.scalb((double) qj, e);
    }
    q[p] = e;
    double err = 0.0;
    for (int i = 0; i < c; i++) {
      int row = base + i * p;
      double y = 0.0;
      for (int j = 0; j < p; j++) {
        y += u[row + j] * th[j];
      }
      double r = w[off + i] - y;
      err += r * r;
    }
    return err;
  }

  // ---------------------------------------------------------------------------------------------
  // Bits

  /** Writes one block at {@code bitOff}: [K bits seed][4 bits e][4 bits per q], MSB first. */
  public void writeBlock(byte[] out, long bitOff, int seed, int exponent, int[] q) {
    basis.checkSeed(seed);
    checkCode("exponent", exponent);
    if (q.length != params.p()) {
      throw new IllegalArgumentException(
          "Cannot write SeedLM block: q has " + q.length + " entries, P=" + params.p());
    }
    for (int v : q) {
      checkCode("coefficient", v);
    }
    Bits.write(out, bitOff, params.k(), seed);
    Bits.write(out, bitOff + params.k(), 4, exponent & 0xF);
    long pos = bitOff + params.k() + 4;
    for (int v : q) {
      Bits.write(out, pos, 4, v & 0xF);
      pos += 4;
    }
  }

  /** Reads one block at {@code bitOff}; the returned err is NaN. */
  public SeedChoice readBlock(byte[] in, long bitOff) {
    int seed = (int) Bits.read(in, bitOff, params.k());
    if (seed == 0) {
      throw new IllegalArgumentException(
          "Cannot decode SeedLM block at bit " + bitOff + ": seed 0 is not a valid seed");
    }
    int e = Bits.readSigned(in, bitOff + params.k(), 4);
    int[] q = new int[params.p()];
    long pos = bitOff + params.k() + 4;
    for (int j = 0; j < q.length; j++, pos += 4) {
      q[j] = Bits.readSigned(in, pos, 4);
    }
    return new SeedChoice(seed, e, q, Double.NaN);
  }

  /** Canonical decode of one block (see class Javadoc) into {@code out[off .. off+C)}. */
  public void decodeBlock(int seed, int exponent, int[] q, float[] out, int off) {
    basis.checkSeed(seed);
    checkCode("exponent", exponent);
    int c = params.c();
    int p = params.p();
    if (q.length != p) {
      throw new IllegalArgumentException(
          "Cannot decode SeedLM block: q has " + q.length + " entries, P=" + p);
    }
    float[] th = new float[p];
    for (int j = 0; j < p; j++) {
      checkCode("coefficient", q[j]);
      th[j] = (float) Math.scalb((double) q[j], exponent);
    }
    int base = seed * c * p;
    int[] col = new int[p];
    for (int j = 0; j < p; j++) {
      col[j] = base + j;
    }
    decodeRule(basis.uf(), col, 0, p, th, 0, c, p, out, off);
  }

  /**
   * The canonical decode rule, the one scalar implementation every decoder uses or reproduces: for
   * each weight i, {@code acc = U[i][0] * th_0} (float multiply), then {@code acc = fma(U[i][j],
   * th_j, acc)} for j = 1..P-1; {@code out[outOff + i] = acc}. Entry {@code U[i][j]} is read at
   * {@code u[col[colOff + j] + i * stride]}: column j of U(s) starts at {@code col[colOff + j]} with
   * consecutive rows {@code stride} floats apart ({@code stride = P} in the row-major {@link
   * SeedBasis#uf()}, 1 in a column-major table). No validation.
   */
  public static void decodeRule(
      float[] u, int[] col, int colOff, int stride, float[] th, int thOff, int c, int p, float[] out,
      int outOff) {
    for (int i = 0; i < c; i++) {
      int r = i * stride;
      float acc = u[col[colOff] + r] * th[thOff];
      for (int j = 1; j < p; j++) {
        acc = Math.fma(u[col[colOff + j] + r], th[thOff + j], acc);
      }
      out[outOff + i] = acc;
    }
  }

  @Override
  public void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff) {
    CodecChecks.checkEncode(this, w, wOff, nBlocks, out, outBitOff);
    int c = params.c();
    double[] block = new double[c];
    for (int b = 0; b < nBlocks; b++) {
      int o = wOff + b * c;
      for (int i = 0; i < c; i++) {
        block[i] = w[o + i];
      }
      SeedChoice ch = searchRef(block, 0);
      writeBlock(out, outBitOff + (long) b * bitsPerBlock(), ch.seed(), ch.exponent(), ch.q());
    }
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    CodecChecks.checkDecode(this, in, inBitOff, nBlocks, out, outOff);
    int c = params.c();
    for (int b = 0; b < nBlocks; b++) {
      SeedChoice ch = readBlock(in, inBitOff + (long) b * bitsPerBlock());
      decodeBlock(ch.seed(), ch.exponent(), ch.q(), out, outOff + b * c);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static void checkCode(String what, int v) {
    if (v < MIN_CODE || v > MAX_CODE) {
      throw new IllegalArgumentException(
          "Cannot use SeedLM " + what + " " + v + ": must be in [" + MIN_CODE + ", " + MAX_CODE + "]");
    }
  }

  private double[] widen(float[] w, int off) {
    int c = params.c();
    if (off < 0 || off > w.length - c) {
      throw new IllegalArgumentException(
          "Cannot read block at offset " + off + ": needs C=" + c + " weights, array has " + w.length);
    }
    double[] d = new double[c];
    for (int i = 0; i < c; i++) {
      d[i] = w[off + i];
    }
    return d;
  }

  private void checkBlock(double[] w, int off) {
    int c = params.c();
    if (off < 0 || off > w.length - c) {
      throw new IllegalArgumentException(
          "Cannot read block at offset " + off + ": needs C=" + c + " weights, array has " + w.length);
    }
    for (int i = 0; i < c; i++) {
      if (!Double.isFinite(w[off + i])) {
        throw new IllegalArgumentException(
            "Cannot encode block at offset " + off + ": weight " + i + " is " + w[off + i]
                + ", weights must be finite");
      }
    }
  }

  private boolean isZero(double[] w, int off) {
    for (int i = 0; i < params.c(); i++) {
      if (w[off + i] != 0.0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return name();
  }
}
