package org.seedlm.pipeline.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * K = 16 exactness of {@link FastSeedSearch} on thousands of blocks per distribution: for every
 * block the kernel's seed, e, q and error must be the reference's arg-min over ALL 2^16 - 1 seeds
 * (SPEC section 5, ties to the smallest seed). {@link SeedLmCodec#searchRef} would take minutes for
 * that, so the oracle below scores every seed with a cheaper float64 formula of its own and re-scores
 * with the reference's {@link SeedLmCodec#quantizedError} every seed where the cheap value could
 * differ. Nothing of the kernel is used: no float32 tables, no margins, no candidate selection.
 *
 * <p>For the seed at cycle position o: {@code b = U^T w} from one shared correlation of the cycle
 * with w ({@code b_j = corr[o + j + 1]}), {@code t = G^+ b} (the least-squares coefficients,
 * {@link SeedBasis#gramPinv()}), e and q by the reference's {@link SeedLmCodec#exponent} and {@link
 * SeedLmCodec#quantize}, and {@code err = ||w||^2 - 2 t_hat.b + t_hat^T G t_hat} (P^2 + 2P
 * operations instead of the reference's 2CP). Two differences from the reference's arithmetic are
 * covered:
 *
 * <ol>
 *   <li>t differs from the reference's {@code pinv w} by rounding only: at most {@code DELTA ||t||}
 *       with {@code ||t|| <= sqrt(tr G^+) ||w||}, for seeds whose condition estimate {@code kappa^3
 *       (C + P) 2^-53 * 100 <= DELTA} ({@code kappa^2 = tr G tr G^+ >= cond(G)}; float64 solves lose
 *       about {@code kappa^3 (C + P) 2^-53}, the factor 100 is headroom). A seed where e or any q could
 *       change within that distance (a rounding boundary nearer than DELTA ||t||), or whose condition
 *       is worse, is scored by the reference directly.
 *   <li>the cheap error differs from the reference's by rounding only, far less than {@code TOL *
 *       (||w||^2 + 2 |t_hat.b| + t_hat^T G t_hat)}; every seed whose cheap interval reaches the
 *       smallest upper end is re-scored by the reference, and the arg-min is taken over those.
 * </ol>
 *
 * Both premises are also checked directly on a few random seeds per block against {@link
 * SeedLmCodec#choice}. Blocks per distribution: 1,000 per config, changed with
 * {@code -Dseedlm.test.k16FourBitBlocks=N} and {@code -Dseedlm.test.k16ThreeBitBlocks=N}; and, with
 * format version 2's offsets (rule nearest), 500 blocks per config of two small-sigma distributions; rule
 * best ({@link Oracle#bestError}: the same premises for each of its candidates), 100 blocks per config and
 * distribution here and thousands with {@link K16BestCheck}.
 */
class K16ExactnessTest {
  /** Relative distance of t from a rounding boundary under which the reference scores the seed. */
  static final double DELTA = 1e-6;

  /** Seed positions per chunk of the oracle's tables (kept in cache across a tile's blocks). */
  static final int CHUNK = 1024;

  /** Blocks per tile of the oracle. */
  static final int TILE = 16;

  /** Relative width of the cheap error's interval. */
  static final double TOL = 1e-9;

  /** Float64 tables of one config in cycle order (position o holds the seed cycle[o]). */
  static final class Oracle {
    final SeedLmCodec ref;
    final CoefficientRule rule;
    final int c, p, n;
    final int[] cycle; // (n,) seed at each cycle position
    final double[] uc; // (n + C*P + P,) u(cycle[m mod n])
    final double[] g; // (n, P, P) G = U^T U
    final double[] gi; // (n, P, P) G^+
    final double[] tScale; // (n,) sqrt(tr G^+): ||t|| <= tScale ||w||
    final boolean[] alwaysRef; // (n,) condition too poor for the cheap formula

    Oracle(SeedLmParams prm, CoefficientRule rule) {
      this.rule = rule;
      ref = new SeedLmCodec(prm, rule, 0);
      SeedBasis basis = ref.basis();
      c = prm.c();
      p = prm.p();
      n = prm.numSeeds();
      cycle = basis.cycle();
      int cp = c * p, pp = p * p;
      uc = new double[n + cp + p];
      double[] u = basis.u();
      for (int m = 0; m < uc.length; m++) {
        // u(cycle[m]) is entry (0, 0) of the seed one step before it
        int before = cycle[(m - 1 + n) % n];
        uc[m] = u[before * cp];
      }
      g = new double[n * pp];
      gi = new double[n * pp];
      tScale = new double[n];
      alwaysRef = new boolean[n];
      double[] gp = basis.gramPinv();
      for (int o = 0; o < n; o++) {
        int s = cycle[o];
        double trG = 0, trGi = 0;
        for (int a = 0; a < p; a++) {
          for (int b = 0; b < p; b++) {
            double acc = 0;
            for (int i = 0; i < c; i++) acc += u[s * cp + i * p + a] * u[s * cp + i * p + b];
            g[o * pp + a * p + b] = acc;
            gi[o * pp + a * p + b] = gp[s * pp + a * p + b];
          }
          trG += g[o * pp + a * p + a];
          trGi += gi[o * pp + a * p + a];
        }
        tScale[o] = Math.sqrt(trGi);
        double kappa = Math.sqrt(trG * trGi);
        alwaysRef[o] = !basis.fullRank(s) || !(kappa * kappa * kappa * (c + p) * 0x1p-53 * 100 <= DELTA);
      }
    }

    /** {@code corr[m] = sum_i u(cycle[m + i*P]) w_i}: {@code b_j} of the seed at position o is {@code corr[o + j + 1]}. */
    double[] correlation(double[] w) {
      double[] corr = new double[n + p + 1];
      for (int m = 0; m < corr.length; m++) {
        double acc = 0;
        for (int i = 0; i < c; i++) acc += uc[m + i * p] * w[i];
        corr[m] = acc;
      }
      return corr;
    }

    /**
     * The cheap error of the seed at position o (premise 1 and 2 of the class comment), with
     * {@code t_hat} in {@code th} and its half-width in {@code tol[0]}; NaN where the reference must
     * score the seed (poor condition, or e or a q within DELTA ||t|| of a rounding boundary).
     */
    double cheapError(double[] corr, int o, double w2, double wNorm, double[] t, double[] th, double[] tol) {
      return cheapError(corr, o, 0, w2, wNorm, t, th, tol);
    }

    /**
     * {@link #cheapError} in a group of exponent offset {@code off} (format version 2) under the oracle's
     * rule; under {@code best}, {@code th} is left unset.
     */
    double cheapError(double[] corr, int o, int off, double w2, double wNorm, double[] t, double[] th, double[] tol) {
      if (alwaysRef[o]) return Double.NaN;
      int pp = p * p;
      double maxAbs = 0;
      for (int j = 0; j < p; j++) {
        double acc = 0;
        for (int l = 0; l < p; l++) acc += gi[o * pp + j * p + l] * corr[o + l + 1];
        t[j] = acc;
        maxAbs = Math.max(maxAbs, Math.abs(acc));
      }
      double d = DELTA * tScale[o] * wNorm;
      int e = SeedLmCodec.exponent(maxAbs, off);
      // e is the reference's e_rel for every maxAbs in (7.5 * 2^(off+e-1), 7.5 * 2^(off+e)] (ends open at the clamps)
      if ((e > SeedLmCodec.MIN_CODE && !(maxAbs - d > 7.5 * Math.scalb(1.0, off + e - 1)))
          || (e < SeedLmCodec.MAX_CODE && !(maxAbs + d <= 7.5 * Math.scalb(1.0, off + e)))) {
        return Double.NaN;
      }
      if (rule == CoefficientRule.BEST) return bestError(corr, o, off, e, w2, d, t, tol);
      double down = Math.scalb(1.0, -(off + e)), up = Math.scalb(1.0, off + e);
      for (int j = 0; j < p; j++) {
        double x = t[j] * down; // exact scaling, as in SeedLmCodec.quantize
        double r = Math.rint(x); // the nearest rounding boundary is 0.5 - |x - r| away
        if (0.5 - Math.abs(x - r) <= d * down) return Double.NaN;
        th[j] = (r < SeedLmCodec.MIN_CODE ? SeedLmCodec.MIN_CODE : r > SeedLmCodec.MAX_CODE ? SeedLmCodec.MAX_CODE : r) * up;
      }
      double tb = 0, tgt = 0;
      for (int j = 0; j < p; j++) {
        tb += th[j] * corr[o + j + 1];
        double gt = 0;
        for (int l = 0; l < p; l++) gt += g[o * pp + j * p + l] * th[l];
        tgt += th[j] * gt;
      }
      tol[0] = TOL * (w2 + 2 * Math.abs(tb) + tgt);
      return w2 - 2 * tb + tgt;
    }

    /**
     * Rule best (SPEC section 4b): the smallest cheap error over the candidates e_rel in {e0, e0 - 1}
     * and q in {f_j, f_j + 1}^P (clamped), with the half-width of the largest candidate's interval in
     * {@code tol[0]}; NaN where a floor {@code f_j} could change within DELTA ||t||. The candidates are
     * visited in Gray-code order, one coefficient changing per step: with {@code t_hat = 2^e q},
     * {@code err = ||w||^2 - 2^(e+1) q.b + 2^(2e) q^T G q}, and {@code q.b}, {@code Gq} and {@code
     * q^T G q} are updated in O(P) per step (integer steps of q, so each stays a short float64 sum).
     */
    double bestError(double[] corr, int o, int off, int e0, double w2, double d, double[] t, double[] tol) {
      int pp = p * p;
      double best = Double.POSITIVE_INFINITY, width = 0;
      int[] lo = new int[p], step = new int[p];
      double[] gq = new double[p];
      for (int eRel = e0; eRel >= Math.max(SeedLmCodec.MIN_CODE, e0 - 1); eRel--) {
        int e = off + eRel;
        double down = Math.scalb(1.0, -e), up = Math.scalb(1.0, e);
        for (int j = 0; j < p; j++) {
          double x = t[j] * down; // exact scaling, as in the reference
          if (Math.abs(x - Math.rint(x)) <= d * down) return Double.NaN;
          double f = Math.floor(x);
          lo[j] = clamp(f);
          step[j] = clamp(f + 1) - lo[j]; // 0 or 1
        }
        double qb = 0, qgq = 0;
        for (int j = 0; j < p; j++) {
          qb += lo[j] * corr[o + j + 1];
          double acc = 0;
          for (int l = 0; l < p; l++) acc += g[o * pp + j * p + l] * lo[l];
          gq[j] = acc;
        }
        for (int j = 0; j < p; j++) qgq += lo[j] * gq[j];
        int gray = 0;
        for (int m = 0; ; m++) {
          double tb = up * qb, tgt = up * up * qgq;
          best = Math.min(best, w2 - 2 * tb + tgt);
          width = Math.max(width, w2 + 2 * Math.abs(tb) + Math.abs(tgt));
          if (m + 1 == 1 << p) break;
          int j = Integer.numberOfTrailingZeros(m + 1); // the coefficient that flips at this step
          int delta = ((gray >>> j) & 1) == 0 ? step[j] : -step[j];
          gray ^= 1 << j;
          if (delta == 0) continue;
          qb += delta * corr[o + j + 1];
          qgq += 2 * delta * gq[j] + g[o * pp + j * p + j];
          for (int l = 0; l < p; l++) gq[l] += delta * g[o * pp + l * p + j];
        }
      }
      tol[0] = TOL * width;
      return best;
    }

    private static int clamp(double x) {
      return (int) Math.max(SeedLmCodec.MIN_CODE, Math.min(SeedLmCodec.MAX_CODE, x));
    }

    /**
     * The reference's arg-min over all seeds for each block {@code w[b]} (C float64 weights), with
     * the seed tables read in chunks of {@link #CHUNK} positions for all blocks at once; counts the
     * reference's scorings.
     */
    SeedChoice[] argmin(double[][] w, double[][] corr, double[][] val, double[][] tol, AtomicLong refScored) {
      return argmin(w, new int[w.length], corr, val, tol, refScored);
    }

    /** {@link #argmin} with block b in a group of exponent offset {@code off[b]} (rule nearest). */
    SeedChoice[] argmin(double[][] w, int[] off, double[][] corr, double[][] val, double[][] tol, AtomicLong refScored) {
      int nb = w.length;
      double[] w2 = new double[nb], wNorm = new double[nb], upper = new double[nb];
      for (int bl = 0; bl < nb; bl++) {
        for (int i = 0; i < c; i++) w2[bl] += w[bl][i] * w[bl][i];
        wNorm[bl] = Math.sqrt(w2[bl]);
        upper[bl] = Double.POSITIVE_INFINITY;
      }
      double[] t = new double[p], th = new double[p], half = new double[1];
      long direct = 0;
      for (int o0 = 0; o0 < n; o0 += CHUNK) {
        int o1 = Math.min(n, o0 + CHUNK);
        for (int bl = 0; bl < nb; bl++) {
          if (w2[bl] == 0) continue;
          for (int o = o0; o < o1; o++) {
            double v = cheapError(corr[bl], o, off[bl], w2[bl], wNorm[bl], t, th, half);
            if (Double.isNaN(v)) {
              val[bl][o] = ref.choice(w[bl], 0, cycle[o], off[bl]).err();
              tol[bl][o] = 0;
              direct++;
            } else {
              val[bl][o] = v;
              tol[bl][o] = half[0];
            }
            upper[bl] = Math.min(upper[bl], val[bl][o] + tol[bl][o]);
          }
        }
      }
      SeedChoice[] out = new SeedChoice[nb];
      for (int bl = 0; bl < nb; bl++) {
        if (w2[bl] == 0) {
          out[bl] = ref.searchRef(w[bl], 0, off[bl]);
          continue;
        }
        double best = Double.POSITIVE_INFINITY;
        int bestSeed = Integer.MAX_VALUE;
        for (int o = 0; o < n; o++) {
          if (val[bl][o] - tol[bl][o] > upper[bl]) continue;
          int s = cycle[o];
          double e = val[bl][o];
          if (tol[bl][o] != 0) {
            e = ref.choice(w[bl], 0, s, off[bl]).err();
            direct++;
          }
          if (e < best || (e == best && s < bestSeed)) {
            best = e;
            bestSeed = s;
          }
        }
        out[bl] = ref.choice(w[bl], 0, bestSeed, off[bl]);
      }
      refScored.addAndGet(direct);
      return out;
    }

    /** The premises on one seed: where the cheap formula applies, its t_hat is the reference's and its error within TOL / 1000. */
    void checkCheapFormula(double[] w, double[] corr, int seed, String msg) {
      double w2 = 0;
      for (int i = 0; i < c; i++) w2 += w[i] * w[i];
      double[] t = new double[p], th = new double[p], half = new double[1];
      double v = cheapError(corr, ref.basis().position(seed), w2, Math.sqrt(w2), t, th, half);
      if (Double.isNaN(v)) return;
      SeedChoice want = ref.choice(w, 0, seed);
      for (int j = 0; j < p && rule == CoefficientRule.NEAREST; j++) assertEquals(Math.scalb((double) want.q(j), want.exponent()), th[j], 0.0, msg);
      assertTrue(Math.abs(v - want.err()) <= half[0] / 1000, msg + ": cheap " + v + ", reference " + want.err());
    }
  }

  /** What one {@link #check} found: blocks checked, blocks where the kernel differs from the oracle (the first described). */
  record Outcome(String config, String kind, CoefficientRule rule, int groupBlocks, int blocks, int mismatches,
      String firstMismatch, double refScoringsPerBlock, long millis) {
    @Override
    public String toString() {
      return String.format("%s %s %s G=%d: %d blocks checked, %d mismatches, %.1f reference scorings per block, %d ms%s",
          config, rule.label(), kind, groupBlocks, blocks, mismatches, refScoringsPerBlock, millis,
          firstMismatch == null ? "" : " (first: " + firstMismatch + ")");
    }
  }

  static void check(SeedLmParams prm, String kind, int nb) {
    check(prm, kind, nb, 0);
  }

  static void check(SeedLmParams prm, String kind, int nb, int groupBlocks) {
    check(prm, kind, nb, groupBlocks, CoefficientRule.NEAREST);
  }

  /** {@link #compare} with every block asserted to agree. */
  static void check(SeedLmParams prm, String kind, int nb, int groupBlocks, CoefficientRule rule) {
    Outcome out = compare(prm, kind, nb, groupBlocks, rule);
    System.out.println(out);
    assertEquals(0, out.mismatches(), out.toString());
    // every block scores at least its winner with the reference
    assertTrue(out.refScoringsPerBlock() >= 1, out.toString());
  }

  /**
   * The kernel ({@link FastSeedSearch} under {@code rule}) against the oracle on {@code nb} blocks of
   * {@code kind}; {@code groupBlocks > 0}: format version 2 with the reference offsets per group of that
   * many blocks; 0: version 1.
   */
  static Outcome compare(SeedLmParams prm, String kind, int nb, int groupBlocks, CoefficientRule rule) {
    long t0 = System.nanoTime();
    Oracle oracle = ORACLES.computeIfAbsent(prm.name() + "/" + rule, key -> new Oracle(prm, rule));
    int c = prm.c(), p = prm.p();
    float[] w = FastSeedSearchTest.blocks(kind, c, nb, kind.hashCode() * 131L + c);
    int[] offsets = new SeedLmCodec(prm, rule, groupBlocks).groupOffsets(w, 0, nb);
    FastSeedSearch.Result res =
        new FastSeedSearch(prm, rule, Runtime.getRuntime().availableProcessors(), FastSeedSearch.defaultVectorBitSize())
            .search(w, 0, nb, offsets, groupBlocks);
    AtomicLong refScored = new AtomicLong();
    AtomicInteger mismatches = new AtomicInteger();
    AtomicReference<String> first = new AtomicReference<>();
    int tiles = (nb + TILE - 1) / TILE;
    IntStream.range(0, tiles).parallel().forEach(tile -> {
      int b0 = tile * TILE, nt = Math.min(nb, b0 + TILE) - b0;
      double[][] wd = new double[nt][c], corr = new double[nt][];
      for (int bl = 0; bl < nt; bl++) {
        for (int i = 0; i < c; i++) wd[bl][i] = w[(b0 + bl) * c + i];
        corr[bl] = oracle.correlation(wd[bl]);
      }
      int[] off = new int[nt];
      for (int bl = 0; bl < nt; bl++) off[bl] = SeedLmCodec.offsetOf(offsets, groupBlocks, b0 + bl);
      SeedChoice[] want = oracle.argmin(wd, off, corr, new double[nt][oracle.n], new double[nt][oracle.n], refScored);
      for (int bl = 0; bl < nt; bl++) {
        int gb = b0 + bl;
        SeedChoice got = new SeedChoice(res.seed[gb], res.exp[gb],
            java.util.Arrays.copyOfRange(res.q, gb * p, gb * p + p), res.err[gb]);
        if (!same(want[bl], got)) {
          mismatches.incrementAndGet();
          first.compareAndSet(null, "block " + gb + ": oracle " + want[bl] + ", kernel " + got);
        }
        if (groupBlocks == 0) {
          String msg = kind + " " + prm.name() + " block " + gb;
          SplittableRandom r = new SplittableRandom(gb);
          for (int i = 0; i < 4; i++) oracle.checkCheapFormula(wd[bl], corr[bl], 1 + r.nextInt(prm.numSeeds()), msg);
          oracle.checkCheapFormula(wd[bl], corr[bl], want[bl].seed(), msg);
        }
      }
    });
    return new Outcome(prm.name(), kind, rule, groupBlocks, nb, mismatches.get(), first.get(),
        refScored.get() / (double) nb, (System.nanoTime() - t0) / 1000000);
  }

  private static boolean same(SeedChoice a, SeedChoice b) {
    return a.seed() == b.seed() && a.exponent() == b.exponent() && a.err() == b.err()
        && java.util.Arrays.equals(a.q(), b.q());
  }

  static final java.util.Map<String, Oracle> ORACLES = new java.util.concurrent.ConcurrentHashMap<>();

  static final String[] KINDS = {"gauss", "cauchy", "outlier", "alt"};

  static final int FOUR_BIT_BLOCKS = Integer.getInteger("seedlm.test.k16FourBitBlocks", 1000);
  static final int THREE_BIT_BLOCKS = Integer.getInteger("seedlm.test.k16ThreeBitBlocks", 1000);

  @Test
  void fourBitAllSeeds() {
    for (String kind : KINDS) check(SeedLmParams.FOUR_BIT, kind, FOUR_BIT_BLOCKS);
  }

  @Test
  void threeBitAllSeeds() {
    for (String kind : KINDS) check(SeedLmParams.THREE_BIT, kind, THREE_BIT_BLOCKS);
  }

  /**
   * Rule best at K = 16 with the default G: 100 blocks per config of Gaussian sigma 1 and sigma 0.002
   * with outliers ({@link K16BestCheck} runs thousands).
   */
  @Test
  void bestRuleAllSeeds() {
    for (SeedLmParams prm : new SeedLmParams[] {SeedLmParams.FOUR_BIT, SeedLmParams.THREE_BIT}) {
      for (String kind : new String[] {"gauss", "gauss-2e-3-outliers"}) {
        check(prm, kind, 100, SeedLmCodec.DEFAULT_GROUP_BLOCKS, CoefficientRule.BEST);
      }
    }
  }

  /**
   * Format version 2, rule nearest, on small weights (sigma 0.02 and 0.001, where version 1 clamps e):
   * offsets per group of 128 blocks. 500 blocks per distribution and config.
   */
  @Test
  void withOffsetsOnSmallWeights() {
    for (SeedLmParams prm : new SeedLmParams[] {SeedLmParams.FOUR_BIT, SeedLmParams.THREE_BIT}) {
      for (String kind : new String[] {"gauss-small", "small-e"}) check(prm, kind, 500, 128);
    }
  }
}
