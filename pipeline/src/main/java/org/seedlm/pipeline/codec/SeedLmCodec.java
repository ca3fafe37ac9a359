package org.seedlm.pipeline.codec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SeedLM codec (SPEC; {@code pipeline/FORMAT.md} section 6.1) with the plain reference exact search.
 *
 * <p>Format version 2: the blocks of a tensor form groups of {@link #groupBlocks()} = G blocks, each with
 * an exponent offset o in [-100, 100] ({@link #groupOffsets}: {@code E(max |w|) - 6}, 0 for an all-zero
 * group); a block stores e_rel and its exponent is {@code o + e_rel}. G = 0 is version 1 (every offset 0).
 * The coefficient rule ({@link CoefficientRule}) is the encoder's only: {@code nearest} or {@code best}.
 *
 * <h2>Encoding (reference search, SPEC sections 4, 4b and 5)</h2>
 *
 * The block w (C weights) is widened to float64. For every seed s = 1..2^K-1, in increasing order,
 * {@link #quantizedError} computes, in float64:
 *
 * <ol>
 *   <li>{@code t_j = sum_{i=0..C-1} pinv_s[j][i] * w_i} (i ascending, starting from 0.0; plain
 *       multiply then add, no FMA), with pinv from {@link SeedBasis};
 *   <li>{@code e0 = exponent(max_j |t_j|, o)} (see {@link #exponent(double, int)}), {@code e = o + e0};
 *       rule nearest: {@code q_j = clamp(rint(t_j / 2^e), -8, 7)}; rule best: every candidate of {@link
 *       CoefficientRule#BEST} is scored by steps 3 and 4 and the smallest error kept (ties: larger
 *       e_rel, then the lexicographically smallest q);
 *   <li>{@code t_hat_j = q_j * 2^e} (exact);
 *   <li>{@code err = sum_{i=0..C-1} r_i * r_i} (i ascending, starting from 0.0) with {@code r_i =
 *       w_i - (u_i0 * t_hat_0 + u_i1 * t_hat_1 + ... )} (j ascending, plain multiply and add, no
 *       FMA), using the float64 U of {@link SeedBasis}.
 * </ol>
 *
 * The seed with the smallest err is chosen; on equal err the smallest seed wins (a later seed must be
 * strictly smaller to replace the current best). An all-zero block is stored as seed 1, e = -8, all
 * q = 0 (which is also what the search gives).
 *
 * <h2>Packed block (SPEC section 7)</h2>
 *
 * MSB first: [K bits seed][4 bits e, two's complement][4 bits per q_j, two's complement, j = 0..P-1].
 *
 * <h2>Canonical decode</h2>
 *
 * With {@code uf} = the float32 U of {@link SeedBasis#uf()}: {@code th_j = (float) (q_j * 2^e)}
 * (exact; {@code e = o + e_rel}); for each weight i: {@code acc = uf[i][0] * th_0} (float multiply), then for j = 1..P-1
 * {@code acc = Math.fma(uf[i][j], th_j, acc)} (float FMA); {@code out_i = acc}. Every faster decoder
 * must reproduce this bit for bit.
 *
 * <p>Instances are immutable and thread-safe; the per-seed tables are shared per params.
 */
public final class SeedLmCodec implements BlockCodec {

  /** Smallest and largest exponent and coefficient value (4-bit two's complement). */
  public static final int MIN_CODE = -8;

  public static final int MAX_CODE = 7;

  /** Range of a group's exponent offset o_g (format version 2, a signed byte). */
  public static final int MIN_OFFSET = -100;

  public static final int MAX_OFFSET = 100;

  /** Blocks per offset group of a new run when none is asked for (SPEC section 4b). */
  public static final int DEFAULT_GROUP_BLOCKS = 4096;

  /** Codec parameter keys of format version 2 (absent: version 1, {@code nearest}, no offsets). */
  public static final String PARAM_GROUP_BLOCKS = "G";

  public static final String PARAM_COEFFICIENTS = "coefficients";

  private final SeedLmParams params;
  private final SeedBasis basis;
  private final CoefficientRule rule;
  private final int groupBlocks; // G, 0: version 1 (no offsets: every o_g = 0)

  /** The version 1 codec: rule {@code nearest}, no exponent offsets. */
  public SeedLmCodec(SeedLmParams params) {
    this(params, CoefficientRule.NEAREST, 0);
  }

  /**
   * @param rule how coefficients are chosen (encoder only)
   * @param groupBlocks G, blocks per exponent-offset group (format version 2); 0 for version 1 (every
   *     offset 0)
   */
  public SeedLmCodec(SeedLmParams params, CoefficientRule rule, int groupBlocks) {
    if (params == null || rule == null) {
      throw new IllegalArgumentException("Cannot create SeedLM codec: params and rule are required");
    }
    if (groupBlocks < 0) {
      throw new IllegalArgumentException(
          "Cannot create SeedLM codec with group-blocks " + groupBlocks + ": must be >= 1, or 0 for format version 1");
    }
    this.params = params;
    this.basis = SeedBasis.of(params);
    this.rule = rule;
    this.groupBlocks = groupBlocks;
  }

  /** The version 2 codec with the default rule ({@code best}) and G ({@value #DEFAULT_GROUP_BLOCKS}). */
  public static SeedLmCodec v2(SeedLmParams params) {
    return new SeedLmCodec(params, CoefficientRule.DEFAULT, DEFAULT_GROUP_BLOCKS);
  }

  public SeedLmParams seedLmParams() {
    return params;
  }

  public SeedBasis basis() {
    return basis;
  }

  public CoefficientRule rule() {
    return rule;
  }

  @Override
  public int groupBlocks() {
    return groupBlocks;
  }

  @Override
  public String name() {
    return params.name();
  }

  @Override
  public String label() {
    return rule == CoefficientRule.DEFAULT && groupBlocks == DEFAULT_GROUP_BLOCKS ? name()
        : name() + "[" + rule.label() + ",G=" + groupBlocks + "]";
  }

  /**
   * {@code C}, {@code P}, {@code K}; in format version 2 also {@code G} and {@code coefficients}.
   * Version 1 with the {@code nearest} rule has exactly the version 1 keys; {@code coefficients} is
   * recorded whenever it is not version 1's {@code nearest}.
   */
  @Override
  public Map<String, String> params() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("C", Integer.toString(params.c()));
    m.put("P", Integer.toString(params.p()));
    m.put("K", Integer.toString(params.k()));
    if (groupBlocks > 0) {
      m.put(PARAM_GROUP_BLOCKS, Integer.toString(groupBlocks));
    }
    if (groupBlocks > 0 || rule != CoefficientRule.NEAREST) {
      m.put(PARAM_COEFFICIENTS, rule.label());
    }
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

  /** {@code (K + 4 + 4P) / C + 8 / (G * C)} (SPEC section 4b), without the last term in version 1. */
  @Override
  public double bitsPerWeight() {
    double perBlock = params.bitsPerBlock() + (groupBlocks == 0 ? 0.0 : 8.0 / groupBlocks);
    return perBlock / params.c();
  }

  // ---------------------------------------------------------------------------------------------
  // Exponents and offsets

  /**
   * The shared exponent of version 1: {@link #exponent(double, int)} with offset 0, i.e. the smallest
   * integer e with {@code maxAbs <= 7.5 * 2^e}, clamped to [-8, 7]. Exact (no logarithm).
   *
   * @throws IllegalArgumentException for NaN or negative input
   */
  public static int exponent(double maxAbs) {
    return exponent(maxAbs, 0);
  }

  /**
   * {@code e0 = E(maxAbs) - offset} clamped to [-8, 7] (SPEC section 4b), with {@link #ceilExponent}
   * E: zero gives -8 and infinity gives 7.
   *
   * @throws IllegalArgumentException for NaN or negative input
   */
  public static int exponent(double maxAbs, int offset) {
    if (!(maxAbs >= 0.0)) {
      throw new IllegalArgumentException(
          "Cannot compute exponent of maxAbs=" + maxAbs + ": maxAbs must be >= 0 and not NaN");
    }
    if (maxAbs == 0.0) {
      return MIN_CODE;
    }
    if (maxAbs == Double.POSITIVE_INFINITY) {
      return MAX_CODE;
    }
    return Math.max(MIN_CODE, Math.min(MAX_CODE, ceilExponent(maxAbs) - offset));
  }

  /**
   * {@code E(x) = ceil(log2(x / 7.5))}, the smallest integer e with {@code x <= 7.5 * 2^e}, computed
   * exactly on the float bits (subnormals are first scaled by 2^64, exactly), unclamped.
   *
   * @param x finite, {@code > 0}
   */
  public static int ceilExponent(double x) {
    if (!(x > 0.0) || x == Double.POSITIVE_INFINITY) {
      throw new IllegalArgumentException("Cannot compute E(" + x + "): needs a finite x > 0");
    }
    int shift = 0;
    if (x < Double.MIN_NORMAL) {
      x = Math.scalb(x, 64);
      shift = 64;
    }
    // x is normal here, in [2^g, 2^(g+1)); 7.5*2^(g-3) < 2^g <= x <= 2^(g+1) < 7.5*2^(g-1)
    int g = Math.getExponent(x);
    return (x <= Math.scalb(7.5, g - 2) ? g - 2 : g - 1) - shift;
  }

  /**
   * The reference encoder's exponent offset of one group (SPEC section 4b): {@code o_g = E(max |w|) -
   * 6} over the given weights, 0 for an all-zero group, clamped to [-100, 100]. Zero padding does not
   * change it, so the padded buffer of a tensor's last block may be passed whole.
   *
   * @throws IllegalArgumentException for a non-finite weight
   */
  public static int groupOffset(float[] w, int off, int n) {
    double mx = 0;
    for (int i = off; i < off + n; i++) {
      if (!Float.isFinite(w[i])) {
        throw new IllegalArgumentException(
            "Cannot compute the exponent offset: weight " + i + " is " + w[i] + ", weights must be finite");
      }
      mx = Math.max(mx, Math.abs(w[i]));
    }
    if (mx == 0) {
      return 0;
    }
    return Math.max(MIN_OFFSET, Math.min(MAX_OFFSET, ceilExponent(mx) - 6));
  }

  /**
   * The reference offsets of blocks {@code w[wOff ..]} ({@code nBlocks} of C weights, the first at a
   * group start): one per group of {@link #groupBlocks()} blocks (the last may be shorter); empty in
   * version 1.
   */
  @Override
  public int[] groupOffsets(float[] w, int wOff, int nBlocks) {
    if (groupBlocks == 0) {
      return new int[0];
    }
    int c = params.c();
    int groups = (int) ((nBlocks + (long) groupBlocks - 1) / groupBlocks);
    int[] o = new int[groups];
    for (int g = 0; g < groups; g++) {
      int b0 = g * groupBlocks;
      int nb = Math.min(groupBlocks, nBlocks - b0);
      o[g] = groupOffset(w, wOff + b0 * c, nb * c);
    }
    return o;
  }

  /** {@code clamp(rint(t / 2^e), -8, 7)}; the division is an exact scaling. */
  public static int quantize(double t, int e) {
    return clampCode(Math.rint(Math.scalb(t, -e)));
  }

  private static int clampCode(double r) {
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

  /** Reference exact search over all seeds for {@code w[off .. off+C)}, offset 0. */
  public SeedChoice searchRef(float[] w, int off) {
    return searchRef(widen(w, off), 0, 0);
  }

  /** Reference exact search over all seeds for {@code w[off .. off+C)}, offset 0. */
  public SeedChoice searchRef(double[] w, int off) {
    return searchRef(w, off, 0);
  }

  /**
   * Reference exact search over all seeds for {@code w[off .. off+C)} in a group of exponent offset
   * {@code offset}; the returned exponent is e_rel.
   */
  public SeedChoice searchRef(double[] w, int off, int offset) {
    checkBlock(w, off);
    checkOffset(offset);
    int p = params.p();
    int[] q = new int[2 * p + 1];
    double[] th = new double[2 * p];
    if (isZero(w, off)) {
      return new SeedChoice(1, MIN_CODE, new int[p], 0.0);
    }
    int n = params.numSeeds();
    double best = Double.POSITIVE_INFINITY;
    int bestSeed = -1;
    for (int s = 1; s <= n; s++) {
      double err = eval(w, off, s, offset, q, th);
      if (err < best) {
        best = err;
        bestSeed = s;
      }
    }
    if (bestSeed < 0) {
      throw new IllegalStateException("Cannot search block: no seed has a finite error");
    }
    return choice(w, off, bestSeed, offset);
  }

  /** Reference search of one block given as an array of exactly C weights, offset 0. */
  public SeedChoice searchRef(double[] w) {
    return searchRef(w, 0, 0);
  }

  /**
   * The quantized squared error of {@code seed} for the block {@code w[off .. off+C)}, offset 0,
   * computed exactly as the reference search does (bit-identical), see the class Javadoc.
   */
  public double quantizedError(double[] w, int off, int seed) {
    return choice(w, off, seed, 0).err();
  }

  /** Seed, e, q and error of {@code seed} for the block, offset 0, exactly as the reference search computes. */
  public SeedChoice choice(double[] w, int off, int seed) {
    return choice(w, off, seed, 0);
  }

  /**
   * Seed, e_rel, q and error of {@code seed} for the block in a group of exponent offset {@code offset},
   * exactly as the reference search computes.
   */
  public SeedChoice choice(double[] w, int off, int seed, int offset) {
    checkBlock(w, off);
    basis.checkSeed(seed);
    checkOffset(offset);
    int p = params.p();
    int[] q = new int[2 * p + 1];
    double err = eval(w, off, seed, offset, q, new double[2 * p]);
    int[] qq = new int[p];
    System.arraycopy(q, 0, qq, 0, p);
    return new SeedChoice(seed, q[p], qq, err);
  }

  /**
   * Writes q[0..P) and e_rel (in q[P]) of the rule's choice; returns err. Scratch: q has 2P + 1
   * entries, th 2P. No validation.
   */
  private double eval(double[] w, int off, int seed, int offset, int[] q, double[] th) {
    int c = params.c();
    int p = params.p();
    int base = seed * c * p;
    double[] pinv = basis.pinv();
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
    int e0 = exponent(maxAbs, offset);
    if (rule == CoefficientRule.NEAREST) {
      int e = offset + e0;
      for (int j = 0; j < p; j++) {
        q[j] = quantize(th[j], e);
        th[p + j] = Math.scalb((double) q[j], e);
      }
      q[p] = e0;
      return blockError(w, off, base, th, p);
    }
    // best: e_rel in {e0, e0 - 1} (larger first), q in {f_j, f_j + 1}^P in increasing mask order
    double best = Double.POSITIVE_INFINITY;
    for (int eRel = e0; eRel >= Math.max(MIN_CODE, e0 - 1); eRel--) {
      int e = offset + eRel;
      for (int mask = 0; mask < 1 << p; mask++) {
        for (int j = 0; j < p; j++) {
          int qj = clampCode(Math.floor(Math.scalb(th[j], -e)) + ((mask >>> (p - 1 - j)) & 1));
          q[p + 1 + j] = qj;
          th[p + j] = Math.scalb((double) qj, e);
        }
        double err = blockError(w, off, base, th, p);
        if (err < best || (err == best && eRel == q[p] && lexLess(q, p + 1, q, 0, p))) {
          best = err;
          System.arraycopy(q, p + 1, q, 0, p);
          q[p] = eRel;
        }
      }
    }
    return best;
  }

  /** {@code sum_i (w_i - sum_j u_ij th[thOff + j])^2}, i and j ascending, plain multiply and add. */
  private double blockError(double[] w, int off, int base, double[] th, int thOff) {
    int c = params.c();
    int p = params.p();
    double[] u = basis.u();
    double err = 0.0;
    for (int i = 0; i < c; i++) {
      int row = base + i * p;
      double y = 0.0;
      for (int j = 0; j < p; j++) {
        y += u[row + j] * th[thOff + j];
      }
      double r = w[off + i] - y;
      err += r * r;
    }
    return err;
  }

  private static boolean lexLess(int[] a, int aOff, int[] b, int bOff, int n) {
    for (int j = 0; j < n; j++) {
      if (a[aOff + j] != b[bOff + j]) {
        return a[aOff + j] < b[bOff + j];
      }
    }
    return false;
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

  /** Canonical decode of one block (see class Javadoc) into {@code out[off .. off+C)}, offset 0. */
  public void decodeBlock(int seed, int exponent, int[] q, float[] out, int off) {
    decodeBlock(seed, exponent, 0, q, out, off);
  }

  /**
   * Canonical decode of one block of a group of exponent offset {@code offset} (see class Javadoc):
   * {@code th_j = (float) (q_j * 2^(offset + eRel))}, exact.
   */
  public void decodeBlock(int seed, int eRel, int offset, int[] q, float[] out, int off) {
    basis.checkSeed(seed);
    checkCode("exponent", eRel);
    checkOffset(offset);
    int c = params.c();
    int p = params.p();
    if (q.length != p) {
      throw new IllegalArgumentException(
          "Cannot decode SeedLM block: q has " + q.length + " entries, P=" + p);
    }
    float[] th = new float[p];
    for (int j = 0; j < p; j++) {
      checkCode("coefficient", q[j]);
      th[j] = (float) Math.scalb((double) q[j], offset + eRel);
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

  /** Encodes with every group offset 0 (the version 1 layout). */
  @Override
  public void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff) {
    encode(w, wOff, nBlocks, zeroOffsets(nBlocks), out, outBitOff);
  }

  @Override
  public void encode(float[] w, int wOff, int nBlocks, int[] offsets, byte[] out, long outBitOff) {
    CodecChecks.checkEncode(this, w, wOff, nBlocks, out, outBitOff);
    checkOffsets(offsets, nBlocks);
    int c = params.c();
    double[] block = new double[c];
    for (int b = 0; b < nBlocks; b++) {
      int o = wOff + b * c;
      for (int i = 0; i < c; i++) {
        block[i] = w[o + i];
      }
      SeedChoice ch = searchRef(block, 0, offsetOf(offsets, groupBlocks, b));
      writeBlock(out, outBitOff + (long) b * bitsPerBlock(), ch.seed(), ch.exponent(), ch.q());
    }
  }

  /** Decodes with every group offset 0 (the version 1 layout). */
  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    decode(in, inBitOff, nBlocks, zeroOffsets(nBlocks), out, outOff);
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, int[] offsets, float[] out, int outOff) {
    CodecChecks.checkDecode(this, in, inBitOff, nBlocks, out, outOff);
    checkOffsets(offsets, nBlocks);
    int c = params.c();
    for (int b = 0; b < nBlocks; b++) {
      SeedChoice ch = readBlock(in, inBitOff + (long) b * bitsPerBlock());
      decodeBlock(ch.seed(), ch.exponent(), offsetOf(offsets, groupBlocks, b), ch.q(), out, outOff + b * c);
    }
  }

  /**
   * The exponent offset of block {@code block} (counted from a group start): {@code offsets[block /
   * G]}, or 0 when there are no offsets ({@code G == 0} or an empty array).
   */
  public static int offsetOf(int[] offsets, int groupBlocks, long block) {
    return groupBlocks == 0 || offsets.length == 0 ? 0 : offsets[(int) (block / groupBlocks)];
  }

  private int[] zeroOffsets(long nBlocks) {
    return new int[Math.toIntExact(groups(nBlocks))];
  }

  /**
   * Checks a list of group offsets for {@code nBlocks} blocks: {@link #groups} entries (version 1: none),
   * each in [-100, 100].
   */
  public void checkOffsets(int[] offsets, long nBlocks) {
    if (offsets == null || offsets.length != groups(nBlocks)) {
      throw new IllegalArgumentException(String.format(
          "Cannot use %s exponent offsets for %d blocks: expected %d (one per group of G=%d blocks), got %s",
          name(), nBlocks, groups(nBlocks), groupBlocks, offsets == null ? "none" : offsets.length));
    }
    for (int o : offsets) {
      checkOffset(o);
    }
  }

  private static void checkOffset(int o) {
    if (o < MIN_OFFSET || o > MAX_OFFSET) {
      throw new IllegalArgumentException(
          "Cannot use SeedLM exponent offset " + o + ": must be in [" + MIN_OFFSET + ", " + MAX_OFFSET + "]");
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
