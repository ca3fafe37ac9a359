package org.seedlm.pipeline.kernel;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Exact SeedLM seed search, fast path. Returns, for every block, exactly the reference's result
 * ({@code SeedLmCodec.searchRef}): the seed with the smallest quantized error, ties to the smallest
 * seed, with the reference's e, q and error (==).
 *
 * <p><b>Phase 1</b> (float32, SIMD over 8 consecutive cycle positions, two blocks per pass, tables
 * read in chunks of 512 seeds per tile of 16 blocks). Each block is first scaled by a power of two
 * so that max|w| is in [1, 2) (exact). For the seed at cycle position o, {@code b_j(o) = c(o+j+1)}
 * with {@code c(m) = sum_i v[m+i*P] w_i} (integer-valued centred states v, exact in float32; one
 * strided correlation shared by all seeds, C FMAs per seed), and {@code f = ||L^-1 b||^2 = b^T G^-1
 * b} (P(P+1)/2 + P FMAs), the energy of the projection of w onto span U(s). {@code fu = f + marg(o)
 * ||w||^2} is a rigorous upper bound of the exact f: {@code marg(o)} is a per-seed bound on the
 * float32 rounding of c, of L^-1 (float64 Cholesky rounded to float32, including the float64
 * factorization error via a condition-number bound), of y and of f, times 1.5, plus 1e-6 for the
 * rounding of the test itself (see {@code SeedTables}; {@code MarginTest} checks it on every K=16
 * seed, the bound is used to at most 6%). Seeds whose bound would exceed 2e-4 (511 nearly singular
 * windows for K=16) use an orthonormal basis Q instead ({@code f = ||Q^T w||^2}, Q from float64
 * Gram-Schmidt stored in float32), whose error does not grow with the conditioning.
 *
 * <p>So {@code LB(s) = ||w||^2 - fu(s)} (minus 1e-30 for underflow of the scaled weights, scaled
 * back exactly) is <= the least-squares residual r(s) <= err(s) for any quantized coefficients,
 * including the reference's float64 error up to its own rounding (far below the 1e-6 slack). Each
 * block keeps the M = 16 seeds with the largest fu (threshold = their minimum, optionally started
 * from the recent blocks' level).
 *
 * <p><b>Phase 2</b> (exact): candidates in increasing LB are scored with a bit-for-bit replica of
 * the reference's per-seed scorer while {@code LB <= best}; a seed with error <= best must have LB
 * <= best, so every possible winner or tie is scored, and ties go to the smaller seed. Seeds not
 * kept have fu <= threshold; if {@code LB(threshold) > best} they cannot win or tie. Otherwise a
 * second pass with the same kernels collects every seed with {@code LB <= best} and scores them.
 * Blocks whose coefficients quantize to 0 for every seed (|t_j| <= max|w| * max row-sum of the
 * reference pseudo-inverses < 2^-9, e.g. zero or 1e-30 blocks) have equal errors at all seeds, so
 * seed 1 is returned directly.
 *
 * <p>{@code vectorBitSize == 0} (or {@code -Dseedlm.vectorBitSize=0}) runs the same algorithm in
 * plain scalar Java.
 */
public final class FastSeedSearch {
  static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  static final int VL = S.length();
  /** Candidates kept per block. */
  static final int DEFAULT_CANDIDATES = 16;
  /** Candidates kept per block in the first pass (fewer: cheaper pass, more second passes). */
  private final int M;
  /** Blocks per tile (tables of a chunk are read once per tile). */
  static final int TB = Integer.getInteger("seedlm.kernel.tileBlocks", 16);
  /** Absolute slack (in scaled units, max|w'| in [1,2)) for float underflow of scaled weights. */
  static final double ABS = 1e-30;
  /** Scan two blocks per pass (shared table loads); {@code -Dseedlm.kernel.pairs=false} to disable. */
  static final boolean WARM_START = !"false".equals(System.getProperty("seedlm.kernel.warmStart"));
  static final boolean PAIRS = !"false".equals(System.getProperty("seedlm.kernel.pairs"));

  /** Per-block search result. {@code q} holds P mantissas per block. */
  public static final class Result {
    public final int[] seed;
    public final int[] exp;
    public final int[] q;
    public final double[] err;
    /** Blocks that needed the full rescan (diagnostics). */
    public int fallbacks;
    /** Exact scorer calls (diagnostics). */
    public long exactCalls;

    Result(int n, int p) {
      seed = new int[n];
      exp = new int[n];
      q = new int[n * p];
      err = new double[n];
    }
  }

  private final SeedTables tb;
  private final int c, p, k;
  private final int threads;
  private final boolean vector;
  private final ExactScorer scorer;
  private final double maxPinvRow1;
  /** Per seed: see {@link RefScorers#pinvRow1PerSeed}; null when the scorer is not the reference. */
  private final double[] zeroCap;

  public static int defaultVectorBitSize() {
    return Integer.getInteger("seedlm.vectorBitSize", S.vectorBitSize());
  }

  /** Default: all processors, vector path unless {@code -Dseedlm.vectorBitSize=0}. */
  public FastSeedSearch(int c, int p, int k) {
    this(c, p, k, Runtime.getRuntime().availableProcessors(), defaultVectorBitSize(), null);
  }

  /**
   * @param vectorBitSize 0 forces the plain-Java scalar path; anything else uses the preferred
   *     vector species
   * @param scorer the exact per-seed scorer (null: the reference codec's)
   */
  public FastSeedSearch(int c, int p, int k, int threads, int vectorBitSize, ExactScorer scorer) {
    this(c, p, k, threads, vectorBitSize, scorer, Integer.getInteger("seedlm.kernel.candidates", DEFAULT_CANDIDATES));
  }

  FastSeedSearch(int c, int p, int k, int threads, int vectorBitSize, ExactScorer scorer, int candidates) {
    this.M = Math.max(1, candidates);
    this.tb = SeedTables.get(c, p, k);
    this.c = c;
    this.p = p;
    this.k = k;
    this.threads = Math.max(1, threads);
    this.vector = vectorBitSize != 0 && VL >= 4;
    this.scorer = scorer != null ? scorer : RefScorers.forParams(c, p, k);
    // the shortcut for blocks that quantize to zero at every seed needs the reference's pinv
    this.maxPinvRow1 =
        this.scorer instanceof RefScorers.Ref ? RefScorers.maxPinvRow1(c, p, k) : tb.maxPinvRow1;
    this.zeroCap = this.scorer instanceof RefScorers.Ref ? RefScorers.pinvRow1PerSeed(c, p, k) : null;
  }

  /** Kernel for {@code params} with all processors and the default vector setting. */
  public FastSeedSearch(SeedLmParams params) {
    this(params.c(), params.p(), params.k());
  }

  /** Kernel for {@code params}; {@code vectorBitSize == 0} forces the scalar path. */
  public FastSeedSearch(SeedLmParams params, int threads, int vectorBitSize) {
    this(params.c(), params.p(), params.k(), threads, vectorBitSize, null);
  }

  /** Searches {@code nBlocks} blocks of {@code w} from offset 0. */
  public Result search(float[] w, int nBlocks) {
    return search(w, 0, nBlocks);
  }

  public boolean isVector() {
    return vector;
  }

  public int threads() {
    return threads;
  }

  /** Searches blocks {@code w[off + b*C ..]} for b in [0, nBlocks). */
  public Result search(float[] w, int off, int nBlocks) {
    Result r = new Result(nBlocks, p);
    int nTiles = (nBlocks + TB - 1) / TB;
    AtomicInteger next = new AtomicInteger();
    int nt = Math.min(threads, nTiles);
    long[] calls = new long[Math.max(1, nt)];
    int[] fb = new int[Math.max(1, nt)];
    Runnable[] jobs = new Runnable[Math.max(1, nt)];
    for (int t = 0; t < jobs.length; t++) {
      final int id = t;
      jobs[t] =
          () -> {
            Worker wk = new Worker();
            int tile;
            while ((tile = next.getAndIncrement()) < nTiles) {
              int b0 = tile * TB;
              wk.tile(w, off, b0, Math.min(nBlocks, b0 + TB), r);
            }
            calls[id] = wk.calls;
            fb[id] = wk.fallbacks;
          };
    }
    if (jobs.length == 1) jobs[0].run();
    else {
      Thread[] th = new Thread[jobs.length];
      for (int t = 0; t < th.length; t++) {
        th[t] = new Thread(jobs[t], "seed-search-" + t);
        th[t].start();
      }
      for (Thread t : th) {
        try {
          t.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new RuntimeException(e);
        }
      }
    }
    for (int t = 0; t < jobs.length; t++) {
      r.exactCalls += calls[t];
      r.fallbacks += fb[t];
    }
    return r;
  }

  /** First t in [t, len) (step VL) whose 8 seeds have some fu > th, or len. P = 3. */
  static int scan3(float[] cb, float[] a0, float[] a1, float[] a2, float[] a3, float[] a4,
      float[] a5, float[] mg, int o0, int t, int len, float w2f, float th, float[] out) {
    FloatVector w2 = FloatVector.broadcast(S, w2f);
    FloatVector thv = FloatVector.broadcast(S, th);
    for (; t < len; t += VL) {
      int o = o0 + t;
      FloatVector b0 = FloatVector.fromArray(S, cb, t);
      FloatVector b1 = FloatVector.fromArray(S, cb, t + 1);
      FloatVector b2 = FloatVector.fromArray(S, cb, t + 2);
      FloatVector y0 = FloatVector.fromArray(S, a0, o).mul(b0);
      FloatVector y1 = FloatVector.fromArray(S, a1, o).mul(b0);
      y1 = FloatVector.fromArray(S, a2, o).fma(b1, y1);
      FloatVector y2 = FloatVector.fromArray(S, a3, o).mul(b0);
      y2 = FloatVector.fromArray(S, a4, o).fma(b1, y2);
      y2 = FloatVector.fromArray(S, a5, o).fma(b2, y2);
      FloatVector f = y0.mul(y0);
      f = y1.fma(y1, f);
      f = y2.fma(y2, f);
      FloatVector fu = FloatVector.fromArray(S, mg, o).fma(w2, f);
      if (fu.compare(VectorOperators.GT, thv).anyTrue()) {
        fu.intoArray(out, 0);
        return t;
      }
    }
    return len;
  }

  /**
   * Two blocks at once (cb, cc), sharing the table loads. Returns the first t where either block
   * has a lane above its threshold (both fu vectors stored), or len.
   */
  static int scan3x2(float[] cb, float[] cc, float[] a0, float[] a1, float[] a2, float[] a3,
      float[] a4, float[] a5, float[] mg, int o0, int t, int len, float w2b, float thb, float w2c,
      float thc, float[] outB, float[] outC) {
    FloatVector w2 = FloatVector.broadcast(S, w2b), w2x = FloatVector.broadcast(S, w2c);
    FloatVector thv = FloatVector.broadcast(S, thb), thx = FloatVector.broadcast(S, thc);
    for (; t < len; t += VL) {
      int o = o0 + t;
      FloatVector x0 = FloatVector.fromArray(S, a0, o);
      FloatVector x1 = FloatVector.fromArray(S, a1, o);
      FloatVector x2 = FloatVector.fromArray(S, a2, o);
      FloatVector x3 = FloatVector.fromArray(S, a3, o);
      FloatVector x4 = FloatVector.fromArray(S, a4, o);
      FloatVector x5 = FloatVector.fromArray(S, a5, o);
      FloatVector m = FloatVector.fromArray(S, mg, o);
      FloatVector b0 = FloatVector.fromArray(S, cb, t);
      FloatVector b1 = FloatVector.fromArray(S, cb, t + 1);
      FloatVector b2 = FloatVector.fromArray(S, cb, t + 2);
      FloatVector y0 = x0.mul(b0);
      FloatVector y1 = x2.fma(b1, x1.mul(b0));
      FloatVector y2 = x5.fma(b2, x4.fma(b1, x3.mul(b0)));
      FloatVector fu = m.fma(w2, y2.fma(y2, y1.fma(y1, y0.mul(y0))));
      FloatVector c0 = FloatVector.fromArray(S, cc, t);
      FloatVector c1 = FloatVector.fromArray(S, cc, t + 1);
      FloatVector c2 = FloatVector.fromArray(S, cc, t + 2);
      FloatVector z0 = x0.mul(c0);
      FloatVector z1 = x2.fma(c1, x1.mul(c0));
      FloatVector z2 = x5.fma(c2, x4.fma(c1, x3.mul(c0)));
      FloatVector fx = m.fma(w2x, z2.fma(z2, z1.fma(z1, z0.mul(z0))));
      if (fu.compare(VectorOperators.GT, thv).or(fx.compare(VectorOperators.GT, thx)).anyTrue()) {
        fu.intoArray(outB, 0);
        fx.intoArray(outC, 0);
        return t;
      }
    }
    return len;
  }

  /** As {@link #scan3x2} for P = 4. */
  static int scan4x2(float[] cb, float[] cc, float[][] a, float[] mg, int o0, int t, int len,
      float w2b, float thb, float w2c, float thc, float[] outB, float[] outC) {
    float[] a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5];
    float[] a6 = a[6], a7 = a[7], a8 = a[8], a9 = a[9];
    FloatVector w2 = FloatVector.broadcast(S, w2b), w2x = FloatVector.broadcast(S, w2c);
    FloatVector thv = FloatVector.broadcast(S, thb), thx = FloatVector.broadcast(S, thc);
    for (; t < len; t += VL) {
      int o = o0 + t;
      FloatVector x0 = FloatVector.fromArray(S, a0, o);
      FloatVector x1 = FloatVector.fromArray(S, a1, o);
      FloatVector x2 = FloatVector.fromArray(S, a2, o);
      FloatVector x3 = FloatVector.fromArray(S, a3, o);
      FloatVector x4 = FloatVector.fromArray(S, a4, o);
      FloatVector x5 = FloatVector.fromArray(S, a5, o);
      FloatVector x6 = FloatVector.fromArray(S, a6, o);
      FloatVector x7 = FloatVector.fromArray(S, a7, o);
      FloatVector x8 = FloatVector.fromArray(S, a8, o);
      FloatVector x9 = FloatVector.fromArray(S, a9, o);
      FloatVector m = FloatVector.fromArray(S, mg, o);
      FloatVector b0 = FloatVector.fromArray(S, cb, t);
      FloatVector b1 = FloatVector.fromArray(S, cb, t + 1);
      FloatVector b2 = FloatVector.fromArray(S, cb, t + 2);
      FloatVector b3 = FloatVector.fromArray(S, cb, t + 3);
      FloatVector y0 = x0.mul(b0);
      FloatVector y1 = x2.fma(b1, x1.mul(b0));
      FloatVector y2 = x5.fma(b2, x4.fma(b1, x3.mul(b0)));
      FloatVector y3 = x9.fma(b3, x8.fma(b2, x7.fma(b1, x6.mul(b0))));
      FloatVector fu = m.fma(w2, y3.fma(y3, y2.fma(y2, y1.fma(y1, y0.mul(y0)))));
      FloatVector c0 = FloatVector.fromArray(S, cc, t);
      FloatVector c1 = FloatVector.fromArray(S, cc, t + 1);
      FloatVector c2 = FloatVector.fromArray(S, cc, t + 2);
      FloatVector c3 = FloatVector.fromArray(S, cc, t + 3);
      FloatVector z0 = x0.mul(c0);
      FloatVector z1 = x2.fma(c1, x1.mul(c0));
      FloatVector z2 = x5.fma(c2, x4.fma(c1, x3.mul(c0)));
      FloatVector z3 = x9.fma(c3, x8.fma(c2, x7.fma(c1, x6.mul(c0))));
      FloatVector fx = m.fma(w2x, z3.fma(z3, z2.fma(z2, z1.fma(z1, z0.mul(z0)))));
      if (fu.compare(VectorOperators.GT, thv).or(fx.compare(VectorOperators.GT, thx)).anyTrue()) {
        fu.intoArray(outB, 0);
        fx.intoArray(outC, 0);
        return t;
      }
    }
    return len;
  }

  /** As {@link #scan3} for P = 4. */
  static int scan4(float[] cb, float[][] a, float[] mg, int o0, int t, int len, float w2f, float th,
      float[] out) {
    float[] a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5];
    float[] a6 = a[6], a7 = a[7], a8 = a[8], a9 = a[9];
    FloatVector w2 = FloatVector.broadcast(S, w2f);
    FloatVector thv = FloatVector.broadcast(S, th);
    for (; t < len; t += VL) {
      int o = o0 + t;
      FloatVector b0 = FloatVector.fromArray(S, cb, t);
      FloatVector b1 = FloatVector.fromArray(S, cb, t + 1);
      FloatVector b2 = FloatVector.fromArray(S, cb, t + 2);
      FloatVector b3 = FloatVector.fromArray(S, cb, t + 3);
      FloatVector y0 = FloatVector.fromArray(S, a0, o).mul(b0);
      FloatVector y1 = FloatVector.fromArray(S, a1, o).mul(b0);
      y1 = FloatVector.fromArray(S, a2, o).fma(b1, y1);
      FloatVector y2 = FloatVector.fromArray(S, a3, o).mul(b0);
      y2 = FloatVector.fromArray(S, a4, o).fma(b1, y2);
      y2 = FloatVector.fromArray(S, a5, o).fma(b2, y2);
      FloatVector y3 = FloatVector.fromArray(S, a6, o).mul(b0);
      y3 = FloatVector.fromArray(S, a7, o).fma(b1, y3);
      y3 = FloatVector.fromArray(S, a8, o).fma(b2, y3);
      y3 = FloatVector.fromArray(S, a9, o).fma(b3, y3);
      FloatVector f = y0.mul(y0);
      f = y1.fma(y1, f);
      f = y2.fma(y2, f);
      f = y3.fma(y3, f);
      FloatVector fu = FloatVector.fromArray(S, mg, o).fma(w2, f);
      if (fu.compare(VectorOperators.GT, thv).anyTrue()) {
        fu.intoArray(out, 0);
        return t;
      }
    }
    return len;
  }

  /** c[t] = sum_i v[base + t + i*p] * w[i] for t in [0, end), C = 8. */
  static void corr8(float[] v, float[] cb, float[] ws, int wb, int base, int end, int p) {
    FloatVector w0 = FloatVector.broadcast(S, ws[wb]), w1 = FloatVector.broadcast(S, ws[wb + 1]);
    FloatVector w2 = FloatVector.broadcast(S, ws[wb + 2]), w3 = FloatVector.broadcast(S, ws[wb + 3]);
    FloatVector w4 = FloatVector.broadcast(S, ws[wb + 4]), w5 = FloatVector.broadcast(S, ws[wb + 5]);
    FloatVector w6 = FloatVector.broadcast(S, ws[wb + 6]), w7 = FloatVector.broadcast(S, ws[wb + 7]);
    for (int t = 0; t < end; t += VL) {
      int m = base + t;
      FloatVector acc = FloatVector.fromArray(S, v, m).mul(w0);
      FloatVector ac2 = FloatVector.fromArray(S, v, m + p).mul(w1);
      acc = FloatVector.fromArray(S, v, m + 2 * p).fma(w2, acc);
      ac2 = FloatVector.fromArray(S, v, m + 3 * p).fma(w3, ac2);
      acc = FloatVector.fromArray(S, v, m + 4 * p).fma(w4, acc);
      ac2 = FloatVector.fromArray(S, v, m + 5 * p).fma(w5, ac2);
      acc = FloatVector.fromArray(S, v, m + 6 * p).fma(w6, acc);
      ac2 = FloatVector.fromArray(S, v, m + 7 * p).fma(w7, ac2);
      acc.add(ac2).intoArray(cb, t);
    }
  }

  /** As {@link #corr8} for C = 12. */
  static void corr12(float[] v, float[] cb, float[] ws, int wb, int base, int end, int p) {
    FloatVector w0 = FloatVector.broadcast(S, ws[wb]), w1 = FloatVector.broadcast(S, ws[wb + 1]);
    FloatVector w2 = FloatVector.broadcast(S, ws[wb + 2]), w3 = FloatVector.broadcast(S, ws[wb + 3]);
    FloatVector w4 = FloatVector.broadcast(S, ws[wb + 4]), w5 = FloatVector.broadcast(S, ws[wb + 5]);
    FloatVector w6 = FloatVector.broadcast(S, ws[wb + 6]), w7 = FloatVector.broadcast(S, ws[wb + 7]);
    FloatVector w8 = FloatVector.broadcast(S, ws[wb + 8]), w9 = FloatVector.broadcast(S, ws[wb + 9]);
    FloatVector w10 = FloatVector.broadcast(S, ws[wb + 10]), w11 = FloatVector.broadcast(S, ws[wb + 11]);
    for (int t = 0; t < end; t += VL) {
      int m = base + t;
      FloatVector acc = FloatVector.fromArray(S, v, m).mul(w0);
      FloatVector ac2 = FloatVector.fromArray(S, v, m + p).mul(w1);
      acc = FloatVector.fromArray(S, v, m + 2 * p).fma(w2, acc);
      ac2 = FloatVector.fromArray(S, v, m + 3 * p).fma(w3, ac2);
      acc = FloatVector.fromArray(S, v, m + 4 * p).fma(w4, acc);
      ac2 = FloatVector.fromArray(S, v, m + 5 * p).fma(w5, ac2);
      acc = FloatVector.fromArray(S, v, m + 6 * p).fma(w6, acc);
      ac2 = FloatVector.fromArray(S, v, m + 7 * p).fma(w7, ac2);
      acc = FloatVector.fromArray(S, v, m + 8 * p).fma(w8, acc);
      ac2 = FloatVector.fromArray(S, v, m + 9 * p).fma(w9, ac2);
      acc = FloatVector.fromArray(S, v, m + 10 * p).fma(w10, acc);
      ac2 = FloatVector.fromArray(S, v, m + 11 * p).fma(w11, ac2);
      acc.add(ac2).intoArray(cb, t);
    }
  }

  /** Per-thread scratch. */
  private final class Worker {
    final float[] cbuf = new float[SeedTables.CHUNK + 2 * VL + p + 8];
    final float[] ws = new float[TB * c];
    final float[] w2f = new float[TB];
    final double[] w2d = new double[TB];
    final int[] kscale = new int[TB];
    final boolean[] active = new boolean[TB];
    final float[] hf = new float[TB * M];
    final int[] hp = new int[TB * M];
    final int[] hcnt = new int[TB];
    final int[] hmin = new int[TB];
    final float[] thr = new float[TB];
    final float[] thr0 = new float[TB];
    final double[] recent = {2, 2, 2, 2};
    int nRecent;
    final float[] tmp = new float[VL];
    final float[] tmp2 = new float[VL];
    final float[] cbuf2 = new float[SeedTables.CHUNK + 2 * VL + p + 8];
    final double[] wd = new double[c];
    final int[] eOut = new int[1];
    final int[] qTmp = new int[p];
    long calls;
    int fallbacks;
    boolean collect;
    int nc;
    int[] cpos = new int[64];
    float[] cfu = new float[64];

    void scanChunk(int b, int o0, int len) {
      if (vector) {
        corrVec(b, o0, len);
        if (p == 3) scanVec3(b, o0, len);
        else if (p == 4) scanVec4(b, o0, len);
        else scanVecGen(b, o0, len);
      } else {
        corrScalar(b, o0, len);
        scanScalar(b, o0, len);
      }
    }

    void tile(float[] w, int off, int b0, int b1, Result r) {
      int nb = b1 - b0;
      for (int b = 0; b < nb; b++) prepare(w, off + (b0 + b) * c, b, r, b0 + b);
      int npad = tb.npad;
      for (int o0 = 0; o0 < npad; o0 += SeedTables.CHUNK) {
        int len = Math.min(SeedTables.CHUNK, npad - o0);
        int pend = -1; // an active block waiting for a partner
        for (int b = 0; b < nb; b++) {
          if (!active[b]) continue;
          if (!vector || (p != 3 && p != 4) || !PAIRS) {
            scanChunk(b, o0, len);
            continue;
          }
          if (pend < 0) {
            pend = b;
            continue;
          }
          corrVecInto(pend, o0, len, cbuf);
          corrVecInto(b, o0, len, cbuf2);
          scanPair(pend, b, o0, len);
          pend = -1;
        }
        if (pend >= 0) scanChunk(pend, o0, len);
      }
      // ill-conditioned seeds last: the thresholds are high by then, so few heap insertions
      for (int b = 0; b < nb; b++) if (active[b]) badScan(b);
      for (int b = 0; b < nb; b++) if (active[b]) finish(w, off + (b0 + b) * c, b, r, b0 + b);
    }

    void prepare(float[] w, int wo, int b, Result r, int gb) {
      double mx = 0;
      for (int i = 0; i < c; i++) {
        float x = w[wo + i];
        if (!Float.isFinite(x)) throw new IllegalArgumentException("non-finite weight in block " + gb);
        mx = Math.max(mx, Math.abs(x));
      }
      // every seed gives t_hat = 0 (|t_i| <= 2^-9 rounds to 0 at e = -8): all errors equal, seed 1
      if (mx * maxPinvRow1 * 1.001 < 0x1p-9) {
        active[b] = false;
        score(w, wo, 1, r, gb);
        return;
      }
      active[b] = true;
      int ks = -Math.getExponent(mx);
      kscale[b] = ks;
      double s2 = 0;
      for (int i = 0; i < c; i++) {
        float x = (float) Math.scalb((double) w[wo + i], ks);
        ws[b * c + i] = x;
        s2 += (double) x * x;
      }
      w2d[b] = s2;
      w2f[b] = (float) s2;
      hcnt[b] = 0;
      // Starting threshold from the recent blocks of this worker (performance only: seeds below it
      // are excluded exactly like seeds below the heap minimum, and finish() checks it).
      double rmin = Double.POSITIVE_INFINITY;
      for (double x : recent) rmin = Math.min(rmin, x);
      if (WARM_START && rmin < 1 && rmin > 0) {
        thr0[b] = (float) (s2 * (1 - 3 * (1 - rmin)));
        if (!(thr0[b] > 0)) thr0[b] = Float.NEGATIVE_INFINITY;
      } else thr0[b] = Float.NEGATIVE_INFINITY;
      thr[b] = thr0[b];
    }

    /**
     * Ill-conditioned seeds: {@code ||Q^T w||^2} with Q an orthonormal basis of U(s) (float64
     * Gram-Schmidt, stored in float32), whose error does not grow with the conditioning of U.
     */
    void badScan(int b) {
      int nBad = tb.nBad;
      if (nBad == 0) return;
      float[][] q = tb.badQs;
      float[] bm = tb.badMargS;
      int wb = b * c;
      float w2 = w2f[b];
      if (vector && VL == 8 && c * p <= 64) {
        int nb16 = (nBad + 15) & ~15;
        for (int g = 0; g < nb16; g += VL) {
          FloatVector f = FloatVector.zero(S);
          for (int j = 0; j < p; j++) {
            FloatVector y = FloatVector.fromArray(S, q[j], g).mul(ws[wb]);
            for (int i = 1; i < c; i++)
              y = FloatVector.fromArray(S, q[i * p + j], g).fma(FloatVector.broadcast(S, ws[wb + i]), y);
            f = y.fma(y, f);
          }
          FloatVector fu = FloatVector.fromArray(S, bm, g).fma(FloatVector.broadcast(S, w2), f);
          fu.intoArray(tmp, 0);
          for (int l = 0; l < VL; l++)
            if (tmp[l] > thr[b] && g + l < nBad) insert(b, tmp[l], tb.badPos[g + l]);
        }
        return;
      }
      for (int bi = 0; bi < nBad; bi++) {
        float f = 0;
        for (int j = 0; j < p; j++) {
          float y = q[j][bi] * ws[wb];
          for (int i = 1; i < c; i++) y = Math.fma(q[i * p + j][bi], ws[wb + i], y);
          f = Math.fma(y, y, f);
        }
        float fu = Math.fma(bm[bi], w2, f);
        if (fu > thr[b]) insert(b, fu, tb.badPos[bi]);
      }
    }

    void scanPair(int b, int b2, int o0, int len) {
      float[][] a = tb.a;
      int t = 0;
      while (true) {
        t = p == 3
            ? scan3x2(cbuf, cbuf2, a[0], a[1], a[2], a[3], a[4], a[5], tb.marg, o0, t, len,
                w2f[b], thr[b], w2f[b2], thr[b2], tmp, tmp2)
            : scan4x2(cbuf, cbuf2, a, tb.marg, o0, t, len, w2f[b], thr[b], w2f[b2], thr[b2], tmp, tmp2);
        if (t >= len) return;
        slow(b, o0 + t);
        System.arraycopy(tmp2, 0, tmp, 0, VL);
        slow(b2, o0 + t);
        t += VL;
      }
    }

    void corrVec(int b, int o0, int len) {
      corrVecInto(b, o0, len, cbuf);
    }

    void corrVecInto(int b, int o0, int len, float[] cbuf) {
      float[] v = tb.v;
      int base = o0 + 1;
      int end = len + p - 1;
      int wb = b * c;
      if (c == 8) corr8(v, cbuf, ws, wb, base, end, p);
      else if (c == 12) corr12(v, cbuf, ws, wb, base, end, p);
      else {
        for (int t = 0; t < end; t += VL) {
          int m = base + t;
          FloatVector acc = FloatVector.fromArray(S, v, m).mul(ws[wb]);
          for (int i = 1; i < c; i++) acc = FloatVector.fromArray(S, v, m + i * p).fma(FloatVector.broadcast(S, ws[wb + i]), acc);
          acc.intoArray(cbuf, t);
        }
      }
    }

    void corrScalar(int b, int o0, int len) {
      float[] v = tb.v;
      int base = o0 + 1;
      int end = len + p - 1;
      int wb = b * c;
      for (int t = 0; t < end; t++) {
        int m = base + t;
        float acc = v[m] * ws[wb];
        for (int i = 1; i < c; i++) acc = Math.fma(v[m + i * p], ws[wb + i], acc);
        cbuf[t] = acc;
      }
    }

    void scanVec3(int b, int o0, int len) {
      float[][] a = tb.a;
      int t = 0;
      while ((t = scan3(cbuf, a[0], a[1], a[2], a[3], a[4], a[5], tb.marg, o0, t, len, w2f[b], thr[b], tmp)) < len) {
        slow(b, o0 + t);
        t += VL;
      }
    }

    void scanVec4(int b, int o0, int len) {
      float[][] a = tb.a;
      int t = 0;
      while ((t = scan4(cbuf, a, tb.marg, o0, t, len, w2f[b], thr[b], tmp)) < len) {
        slow(b, o0 + t);
        t += VL;
      }
    }

    void scanVecGen(int b, int o0, int len) {
      float[][] a = tb.a;
      float[] mg = tb.marg;
      FloatVector w2 = FloatVector.broadcast(S, w2f[b]);
      float th = thr[b];
      for (int t = 0; t < len; t += VL) {
        int o = o0 + t;
        FloatVector f = FloatVector.zero(S);
        for (int kk = 0; kk < p; kk++) {
          FloatVector y = FloatVector.zero(S);
          for (int j = 0; j <= kk; j++)
            y = FloatVector.fromArray(S, a[SeedTables.tri(kk, j)], o)
                .fma(FloatVector.fromArray(S, cbuf, t + j), y);
          f = y.fma(y, f);
        }
        FloatVector fu = FloatVector.fromArray(S, mg, o).fma(w2, f);
        if (fu.compare(VectorOperators.GT, th).anyTrue()) {
          slowScalar(b, o0, t);
          th = thr[b];
        }
      }
    }

    void scanScalar(int b, int o0, int len) {
      float[][] a = tb.a;
      float[] mg = tb.marg;
      float w2 = w2f[b];
      int n = tb.n;
      for (int t = 0; t < len; t++) {
        int o = o0 + t;
        float f = 0;
        for (int kk = 0; kk < p; kk++) {
          float y = 0;
          for (int j = 0; j <= kk; j++) y = Math.fma(a[SeedTables.tri(kk, j)][o], cbuf[t + j], y);
          f = Math.fma(y, y, f);
        }
        float fu = Math.fma(mg[o], w2, f);
        if (fu > thr[b] && o < n) insert(b, fu, o);
      }
    }

    /** Recomputes the 8 lanes in scalar (same operations as the vector code) and offers them. */
    void slowScalar(int b, int o0, int t0) {
      float[][] a = tb.a;
      float[] mg = tb.marg;
      float w2 = w2f[b];
      int n = tb.n;
      for (int t = t0; t < t0 + VL; t++) {
        int o = o0 + t;
        float f = 0;
        for (int kk = 0; kk < p; kk++) {
          float y = a[SeedTables.tri(kk, 0)][o] * cbuf[t];
          for (int j = 1; j <= kk; j++) y = Math.fma(a[SeedTables.tri(kk, j)][o], cbuf[t + j], y);
          f = kk == 0 ? y * y : Math.fma(y, y, f);
        }
        float fu = Math.fma(mg[o], w2, f);
        if (fu > thr[b] && o < n) insert(b, fu, o);
      }
    }

    void slow(int b, int o) {
      int n = tb.n;
      for (int l = 0; l < VL; l++) if (tmp[l] > thr[b] && o + l < n) insert(b, tmp[l], o + l);
    }

    void insert(int b, float fu, int o) {
      if (collect) {
        if (nc == cpos.length) {
          cpos = Arrays.copyOf(cpos, nc * 2);
          cfu = Arrays.copyOf(cfu, nc * 2);
        }
        cpos[nc] = o;
        cfu[nc++] = fu;
        return;
      }
      int hb = b * M;
      int cnt = hcnt[b];
      if (cnt < M) {
        hf[hb + cnt] = fu;
        hp[hb + cnt] = o;
        hcnt[b] = ++cnt;
        if (cnt == M) updateMin(b);
        return;
      }
      int mi = hmin[b];
      hf[hb + mi] = fu;
      hp[hb + mi] = o;
      updateMin(b);
    }

    void updateMin(int b) {
      int hb = b * M;
      int mi = 0;
      float mv = hf[hb];
      for (int i = 1; i < M; i++)
        if (hf[hb + i] < mv) {
          mv = hf[hb + i];
          mi = i;
        }
      hmin[b] = mi;
      thr[b] = mv;
    }

    /** Lower bound of the (unscaled) error from an upper bound fu of f (scaled units). */
    double lb(int b, double fu) {
      return Math.scalb(w2d[b] - fu - ABS, -2 * kscale[b]);
    }

    void finish(float[] w, int wo, int b, Result r, int gb) {
      blkMax = 0;
      errZero = 0.0;
      for (int i = 0; i < c; i++) {
        double x = w[wo + i];
        blkMax = Math.max(blkMax, Math.abs(x));
        errZero += x * x;
      }
      int hb = b * M;
      int cnt = hcnt[b];
      double[] lbs = new double[cnt];
      Integer[] idx = new Integer[cnt];
      for (int i = 0; i < cnt; i++) {
        lbs[i] = lb(b, hf[hb + i]);
        idx[i] = i;
      }
      Arrays.sort(idx, (x, y) -> Double.compare(lbs[x], lbs[y]));
      double best = Double.POSITIVE_INFINITY;
      int bestSeed = Integer.MAX_VALUE;
      boolean stopped = false;
      for (int ii = 0; ii < cnt; ii++) {
        int i = idx[ii];
        if (lbs[i] > best) {
          stopped = true;
          break;
        }
        int seed = tb.state[hp[hb + i]];
        double e = exactErr(w, wo, seed);
        if (e < best || (e == best && seed < bestSeed)) {
          best = e;
          bestSeed = seed;
        }
      }
      if (hcnt[b] == M) recent[nRecent++ & 3] = thr[b] / w2d[b];
      boolean partial = cnt == M || thr0[b] > Float.NEGATIVE_INFINITY;
      if (!stopped && partial && !(lb(b, thr[b]) > best)) {
        fallbacks++;
        // second pass (same kernels) collecting every seed with LB <= best
        double sb = Math.scalb(best, 2 * kscale[b]);
        float t2 = (float) (w2d[b] - ABS - sb - 1e-6 * w2d[b]);
        if (!(t2 > Float.NEGATIVE_INFINITY)) t2 = Float.NEGATIVE_INFINITY;
        collect = true;
        nc = 0;
        thr[b] = t2;
        for (int o0 = 0; o0 < tb.npad; o0 += SeedTables.CHUNK) {
          int len = Math.min(SeedTables.CHUNK, tb.npad - o0);
          scanChunk(b, o0, len);
        }
        badScan(b);
        collect = false;
        double[] lc = new double[nc];
        int ns = 0;
        int[] sel = new int[nc];
        for (int i = 0; i < nc; i++) {
          lc[i] = lb(b, cfu[i]);
          int seed = tb.state[cpos[i]];
          if (zeroCap != null && zeroCap[seed] * blkMax * (1 + 1e-12) <= 0x1p-9) {
            // all q = 0: error is errZero, no scoring (any processing order is valid: every
            // candidate with LB <= the final best is considered)
            if (lc[i] <= best && (errZero < best || (errZero == best && seed < bestSeed))) {
              best = errZero;
              bestSeed = seed;
            }
          } else sel[ns++] = i;
        }
        // approximately increasing LB (float keys, primitive sort); every candidate is checked
        // against the current best, so the order only affects speed, not the result
        long[] key = new long[ns];
        for (int ii = 0; ii < ns; ii++) {
          int fb = Float.floatToRawIntBits((float) lc[sel[ii]]);
          fb ^= (fb >> 31) & 0x7fffffff; // order-preserving for signed floats
          key[ii] = ((long) fb << 32) | sel[ii];
        }
        Arrays.sort(key);
        for (int ii = 0; ii < ns; ii++) {
          int i = (int) key[ii];
          if (lc[i] > best) continue;
          int seed = tb.state[cpos[i]];
          double e = exactErr(w, wo, seed);
          if (e < best || (e == best && seed < bestSeed)) {
            best = e;
            bestSeed = seed;
          }
        }
      }
      score(w, wo, bestSeed, r, gb);
    }

    double blkMax, errZero;

    /** The reference's error for seed; without scoring when every q is provably 0. */
    double exactErr(float[] w, int wo, int seed) {
      if (zeroCap != null && zeroCap[seed] * blkMax * (1 + 1e-12) <= 0x1p-9) return errZero;
      calls++;
      return scorer.error(w, wo, seed, qTmp, 0, eOut);
    }

    void score(float[] w, int wo, int seed, Result r, int gb) {
      double e = scorer.error(w, wo, seed, r.q, gb * p, eOut);
      calls++;
      r.seed[gb] = seed;
      r.exp[gb] = eOut[0];
      r.err[gb] = e;
    }
  }
}
