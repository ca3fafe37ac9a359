package org.seedlm.pipeline.kernel;

import jdk.incubator.vector.VectorSpecies;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Exact SeedLM seed search, fast path. Returns, for every block, exactly the reference's result
 * ({@code SeedLmCodec.searchRef}): the seed with the smallest quantized error err(s), ties to the
 * smallest seed, with the reference's e, q and error (==). The parts: {@link BoundScan} (with the
 * vector loops of {@link BoundKernels}), {@link TopCandidates}, {@link ExactFinish}, {@link
 * TileThreads}; the tables and the float32 margins are built by {@link SeedTables}, where the
 * margins are derived.
 *
 * <h2>Why the result is the reference's (the exactness argument)</h2>
 *
 * Notation: w is the block, {@code r(s) = min_t ||w - U(s) t||^2} its least-squares residual at seed
 * s, {@code f(s) = ||w||^2 - r(s)} the energy of its projection onto span U(s). For every choice of
 * coefficients, in particular the reference's, {@code r(s) <= err(s)}.
 *
 * <ol>
 *   <li><b>Scale, or answer at once</b> ({@code TileSearch.prepare}). An all-zero block is seed 1 with
 *       e_rel = -8 and every q = 0 under both rules. Under the {@code nearest} rule, a block (of a
 *       group of exponent offset o) whose largest weight times the largest row 1-norm of any seed's
 *       pseudo-inverse is below 2^(o-9) (with a factor 1.001,
 *       far above the {@code (1 + gamma_C) / (1 - gamma_C)} that covers the float64 rounding of t
 *       and of that norm, and above the {@code 10^-6} relative difference of the norm taken from
 *       {@link SeedTables} when the scorer is not the reference's) has {@code |t_j| <= 2^(o-9)} at every
 *       seed, so e_rel = -8 and every q = 0 at every seed: all errors are equal and seed 1 is the
 *       arg-min. (Not under {@code best}: its candidates include q = +-1.) The offset enters nowhere
 *       else: the bounds below hold for every choice of coefficients, so for both rules and every
 *       offset. Otherwise the block is multiplied by the power of two {@code 2^k} that puts max|w|
 *       in [1, 2) (exact, {@link BoundScan#load}); {@code w' = 2^k w}, {@code f'(s) = 4^k f(s)}.
 *   <li><b>Bound scan</b> ({@link BoundScan}). For every seed, float32 arithmetic gives {@code
 *       f_hat(s)} and the upper bound {@code fu(s) = f_hat(s) + marg(s) ||w'||^2} (one FMA), with
 *       {@code marg(s)} from {@link SeedTables#margin} such that {@code fu(s) >= f'(s)} for every
 *       block. Hence {@code LB(s) = 4^-k (||w'||^2 - fu(s) - ABS) <= r(s) <= err(s)}, and the
 *       float64 error the reference computes is within the slack already contained in marg (its
 *       term {@code 1e-6}, see there). ABS = 1e-30 covers weights that underflow in float32 when
 *       scaled: each loses at most 2^-150, which moves f' by less than {@code 2^-150 * 2 sqrt(C)
 *       ||A|| ||V|| ||w'|| < 10^-35} for every seed kept in the float32 tables.
 *   <li><b>Candidate selection</b> ({@link TopCandidates}). Each block keeps the M seeds with the
 *       largest fu offered so far, i.e. the smallest LB. A seed is offered only when {@code fu >
 *       threshold}; the threshold is the smallest kept fu once M are kept (or a warm start from
 *       recent blocks before that) and never decreases, so every seed not kept has {@code fu <=
 *       T}, T the final threshold, and therefore {@code LB(s) >= LB(T)}.
 *   <li><b>Exact finish of the kept seeds</b> ({@link ExactFinish#finish}). They are scored with the
 *       reference's own per-seed rule ({@link ExactScorer}) in increasing LB until the next LB
 *       exceeds the best error found. A seed with {@code err(s) <= best} has {@code LB(s) <=
 *       best}, so every kept seed that could win or tie is scored; an equal error goes to the
 *       smaller seed, as in the reference.
 *   <li><b>Are the seeds left out beaten?</b> If the scoring stopped at a kept seed with LB &gt;
 *       best (kept seeds have {@code fu >= T}, so {@code LB(T) > best}), or {@code LB(T) > best},
 *       or nothing was left out (fewer than M offered and no warm start), no other seed can win or
 *       tie, and the best seed of step 4 is the reference's.
 *   <li><b>Otherwise the second pass</b>: the same scan (step 2) collects every seed with {@code fu
 *       > float32(||w'||^2 - ABS - 4^k best - 1e-6 ||w'||^2)}; seeds below it have {@code LB >
 *       best} (the 1e-6 exceeds the float32 rounding of that threshold, {@code 2^-24 ||w'||^2}, and
 *       the float64 rounding of LB). Each collected seed with {@code LB <= best} is scored (in any
 *       order: each is compared with the best so far); one whose pseudo-inverse rows bound every
 *       |t_j| by 2^(o-9) (nearest rule only; {@link RefScorers#pinvRow1PerSeed}, factor {@code 1 + 1e-12 >= (1 +
 *       gamma_C) / (1 - gamma_C)} for C up to 4096) has all q = 0 and the error {@code sum w_i^2},
 *       without scoring.
 * </ol>
 *
 * <p>{@code vectorBitSize == 0} (or {@code -Dseedlm.vectorBitSize=0}) runs the same algorithm in
 * plain scalar Java.
 */
public final class FastSeedSearch {
  static final VectorSpecies<Float> S = BoundKernels.S;
  static final int VL = BoundKernels.VL;
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
  /** Whether the all-q-zero shortcuts apply (the scorer's rule is nearest). */
  private final boolean zeroShortcut;
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
   * The kernel for {@code params} under {@code rule}; {@code vectorBitSize == 0} forces the scalar
   * path.
   */
  public FastSeedSearch(SeedLmParams params, CoefficientRule rule, int threads, int vectorBitSize) {
    this(params.c(), params.p(), params.k(), threads, vectorBitSize,
        RefScorers.forParams(params.c(), params.p(), params.k(), rule));
  }

  /**
   * @param vectorBitSize 0 forces the plain-Java scalar path; anything else uses the preferred
   *     vector species
   * @param scorer the exact per-seed scorer (null: the reference codec's, rule {@code nearest}); a
   *     scorer other than the reference's must follow the {@code nearest} rule
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
    this.scorer = scorer != null ? scorer : RefScorers.forParams(c, p, k, CoefficientRule.NEAREST);
    this.zeroShortcut =
        !(this.scorer instanceof RefScorers.Ref ref) || ref.rule() == CoefficientRule.NEAREST;
    // the shortcut for blocks that quantize to zero at every seed needs the reference's pinv
    this.maxPinvRow1 =
        this.scorer instanceof RefScorers.Ref ? RefScorers.maxPinvRow1(c, p, k) : tb.maxPinvRow1;
    this.zeroCap = this.scorer instanceof RefScorers.Ref && zeroShortcut ? RefScorers.pinvRow1PerSeed(c, p, k) : null;
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

  /** Searches blocks {@code w[off + b*C ..]} for b in [0, nBlocks), every exponent offset 0. */
  public Result search(float[] w, int off, int nBlocks) {
    return search(w, off, nBlocks, new int[0], 0);
  }

  /**
   * Searches blocks {@code w[off + b*C ..]} for b in [0, nBlocks); block b is in a group of exponent
   * offset {@link SeedLmCodec#offsetOf offsetOf(offsets, groupBlocks, b)} (block 0 starts a group).
   */
  public Result search(float[] w, int off, int nBlocks, int[] offsets, int groupBlocks) {
    Result r = new Result(nBlocks, p);
    int nTiles = (nBlocks + TB - 1) / TB;
    Object[] workers =
        TileThreads.run(threads, nTiles, () -> new TileSearch(w, off, nBlocks, offsets, groupBlocks, r));
    for (Object o : workers) {
      TileSearch wk = (TileSearch) o;
      r.exactCalls += wk.finish.calls;
      r.fallbacks += wk.finish.fallbacks;
    }
    return r;
  }

  /**
   * One thread's search of whole tiles of at most {@link #TB} blocks (index b within the tile):
   * step 1 ({@link #prepare}), then the bound scan (step 2) feeding the candidates (step 3) of every
   * active block, then the exact finish (steps 4 to 6) of each.
   */
  private final class TileSearch implements TileThreads.Worker {
    private final float[] w;
    private final int off, nBlocks;
    private final int[] offsets;
    private final int groupBlocks;
    private final Result r;
    private final TopCandidates cand = new TopCandidates(TB, M);
    private final BoundScan scan = new BoundScan(tb, vector, cand, TB);
    final ExactFinish finish = new ExactFinish(tb, scan, cand, scorer, zeroCap);
    private final boolean[] active = new boolean[TB]; // false: answered in step 1

    TileSearch(float[] w, int off, int nBlocks, int[] offsets, int groupBlocks, Result r) {
      this.w = w;
      this.off = off;
      this.nBlocks = nBlocks;
      this.offsets = offsets;
      this.groupBlocks = groupBlocks;
      this.r = r;
    }

    @Override
    public void tile(int tile) {
      int b0 = tile * TB;
      int nb = Math.min(nBlocks, b0 + TB) - b0;
      for (int b = 0; b < nb; b++) prepare(off + (b0 + b) * c, b, b0 + b);
      scan.scanTile(active, nb);
      for (int b = 0; b < nb; b++) {
        if (active[b]) finish.finish(w, off + (b0 + b) * c, b, r, b0 + b, offset(b0 + b));
      }
    }

    private int offset(int gb) {
      return SeedLmCodec.offsetOf(offsets, groupBlocks, gb);
    }

    /** Step 1: the all-zero shortcut, or the scaled block and its candidate set's start. */
    private void prepare(int wo, int b, int gb) {
      double mx = 0;
      for (int i = 0; i < c; i++) {
        float x = w[wo + i];
        if (!Float.isFinite(x)) throw new IllegalArgumentException("non-finite weight in block " + gb);
        mx = Math.max(mx, Math.abs(x));
      }
      // step 1: every seed gives t_hat = 0 (|t_i| <= 2^(o-9) rounds to 0 at e_rel = -8 under nearest):
      // all errors equal, seed 1
      int o = offset(gb);
      if (mx == 0 || (zeroShortcut && mx * maxPinvRow1 * 1.001 < Math.scalb(1.0, o - 9))) {
        active[b] = false;
        finish.score(w, wo, 1, r, gb, o);
        return;
      }
      active[b] = true;
      double s2 = scan.load(b, w, wo, mx);
      cand.start(b, s2, WARM_START);
    }
  }
}
