package org.seedlm.pipeline.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
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
 * format version 2's offsets (rule nearest), 500 blocks per config of two small-sigma distributions. The
 * rule best is checked against the exhaustive reference at small K ({@code FastSeedSearchTest}), not here.
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
    final int c, p, n;
    final int[] cycle; // (n,) seed at each cycle position
    final double[] uc; // (n + C*P + P,) u(cycle[m mod n])
    final double[] g; // (n, P, P) G = U^T U
    final double[] gi; // (n, P, P) G^+
    final double[] tScale; // (n,) sqrt(tr G^+): ||t|| <= tScale ||w||
    final boolean[] alwaysRef; // (n,) condition too poor for the cheap formula

    Oracle(SeedLmParams prm) {
      ref = new SeedLmCodec(prm);
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

    /** {@link #cheapError} in a group of exponent offset {@code off} (format version 2, rule nearest). */
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
      for (int j = 0; j < p; j++) assertEquals(Math.scalb((double) want.q(j), want.exponent()), th[j], 0.0, msg);
      assertTrue(Math.abs(v - want.err()) <= half[0] / 1000, msg + ": cheap " + v + ", reference " + want.err());
    }
  }

  static void check(SeedLmParams prm, String kind, int nb) {
    check(prm, kind, nb, 0);
  }

  /**
   * {@code groupBlocks > 0}: format version 2 with the reference offsets per group of that many blocks
   * (rule nearest, the oracle's formula); 0: version 1.
   */
  static void check(SeedLmParams prm, String kind, int nb, int groupBlocks) {
    long t0 = System.nanoTime();
    Oracle oracle = ORACLES.computeIfAbsent(prm, Oracle::new);
    int c = prm.c(), p = prm.p();
    float[] w = FastSeedSearchTest.blocks(kind, c, nb, kind.hashCode() * 131L + c);
    int[] offsets = new SeedLmCodec(prm, org.seedlm.pipeline.codec.CoefficientRule.NEAREST, groupBlocks)
        .groupOffsets(w, 0, nb);
    FastSeedSearch.Result res = new FastSeedSearch(prm).search(w, 0, nb, offsets, groupBlocks);
    AtomicLong refScored = new AtomicLong();
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
        String msg = kind + " " + prm.name() + " block " + gb;
        assertEquals(want[bl].seed(), res.seed[gb], msg);
        assertEquals(want[bl].err(), res.err[gb], 0.0, msg);
        assertEquals(want[bl].exponent(), res.exp[gb], msg);
        for (int j = 0; j < p; j++) assertEquals(want[bl].q(j), res.q[gb * p + j], msg);
        SplittableRandom r = new SplittableRandom(gb);
        if (groupBlocks == 0) {
          for (int i = 0; i < 4; i++) oracle.checkCheapFormula(wd[bl], corr[bl], 1 + r.nextInt(prm.numSeeds()), msg);
          oracle.checkCheapFormula(wd[bl], corr[bl], want[bl].seed(), msg);
        }
      }
    });
    int poor = 0;
    for (boolean x : oracle.alwaysRef) poor += x ? 1 : 0;
    System.out.printf("%s %s: %d blocks, %.1f reference scorings per block (%d seeds always), %d ms%n", prm.name(), kind, nb,
        refScored.get() / (double) nb, poor, (System.nanoTime() - t0) / 1000000);
    // every block scores at least its winner with the reference
    assertTrue(refScored.get() >= nb, kind + ": " + refScored.get() + " reference scorings");
  }

  static final java.util.Map<SeedLmParams, Oracle> ORACLES = new java.util.concurrent.ConcurrentHashMap<>();

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
