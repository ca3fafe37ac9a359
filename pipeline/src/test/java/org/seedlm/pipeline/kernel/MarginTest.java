package org.seedlm.pipeline.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * The real kernel ({@link FastSeedSearch}: vector and scalar path, 16 candidates and 1 candidate,
 * which forces the second pass) on K = 16 blocks built to sit at its margin: the reference's best
 * and second-best seeds have errors that differ by less than {@code 1e-6 ||w||^2}, the smallest
 * float32 margin any seed has ({@link SeedTables#margin}), so the float32 bound scan cannot tell the
 * two apart and the exact finish must. The kernel must return exactly what {@link
 * SeedLmCodec#searchRef} returns.
 *
 * <p>Construction: from a Gaussian block w with best seed s1 and second s2 (reference errors over
 * all seeds), move w toward s2's own reconstruction {@code U(s2) t_hat(s2)}, where s2's error goes
 * to about 0; bisect the step (rounding the block to float32 each time) for the float32 block where
 * {@code err(s1) - err(s2)} changes sign. A block is kept when, over all seeds again, s1 and s2 are
 * its two best and their errors differ by less than the bound.
 */
class MarginTest {
  static final double BOUND = 1e-6;

  /** Errors of every seed (index = seed) by the reference's per-seed rule. */
  static double[] allErrors(SeedLmCodec ref, double[] w) {
    int n = ref.seedLmParams().numSeeds();
    double[] err = new double[n + 1];
    err[0] = Double.POSITIVE_INFINITY;
    for (int s = 1; s <= n; s++) err[s] = ref.quantizedError(w, 0, s);
    return err;
  }

  /** The best and second-best seed (ties to the smaller seed). */
  static int[] bestTwo(double[] err) {
    int a = -1, b = -1;
    for (int s = 1; s < err.length; s++) {
      if (a < 0 || err[s] < err[a]) {
        b = a;
        a = s;
      } else if (b < 0 || err[s] < err[b]) b = s;
    }
    return new int[] {a, b};
  }

  static double[] widen(float[] w) {
    double[] d = new double[w.length];
    for (int i = 0; i < w.length; i++) d[i] = w[i];
    return d;
  }

  static float[] along(double[] from, double[] to, double alpha) {
    float[] w = new float[from.length];
    for (int i = 0; i < w.length; i++) w[i] = (float) (from[i] + alpha * (to[i] - from[i]));
    return w;
  }

  /** Blocks at the margin for {@code prm}, built from Gaussian blocks until {@code want} are found. */
  static List<float[]> marginBlocks(SeedLmParams prm, int want) {
    SeedLmCodec ref = new SeedLmCodec(prm);
    SeedBasis basis = ref.basis();
    int c = prm.c(), p = prm.p();
    List<float[]> out = new ArrayList<>();
    float[] start = FastSeedSearchTest.blocks("gauss", c, 4 * want, 4242 + c);
    for (int t = 0; t < 4 * want && out.size() < want; t++) {
      float[] w0 = java.util.Arrays.copyOfRange(start, t * c, (t + 1) * c);
      double[] from = widen(w0);
      int[] two = bestTwo(allErrors(ref, from));
      int s1 = two[0], s2 = two[1];
      SeedChoice ch = ref.choice(from, 0, s2);
      double[] to = new double[c];
      for (int i = 0; i < c; i++)
        for (int j = 0; j < p; j++) to[i] += basis.u(s2, i, j) * Math.scalb((double) ch.q(j), ch.exponent());
      double lo = 0, hi = 1; // gap(lo) <= 0 < gap(hi), gap = err(s1) - err(s2)
      for (int it = 0; it < 80; it++) {
        double mid = (lo + hi) / 2;
        double[] wm = widen(along(from, to, mid));
        if (ref.quantizedError(wm, 0, s1) - ref.quantizedError(wm, 0, s2) <= 0) lo = mid;
        else hi = mid;
      }
      for (double alpha : new double[] {lo, hi}) {
        float[] w = along(from, to, alpha);
        double[] wd = widen(w);
        double[] err = allErrors(ref, wd);
        int[] top = bestTwo(err);
        double w2 = 0;
        for (double x : wd) w2 += x * x;
        boolean pair = (top[0] == s1 && top[1] == s2) || (top[0] == s2 && top[1] == s1);
        if (pair && err[top[1]] - err[top[0]] < BOUND * w2) {
          out.add(w);
          break;
        }
      }
    }
    return out;
  }

  static void check(SeedLmParams prm, int want) {
    List<float[]> blocks = marginBlocks(prm, want);
    assertTrue(blocks.size() == want, prm.name() + ": only " + blocks.size() + " of " + want + " margin blocks built");
    int c = prm.c(), p = prm.p();
    float[] w = new float[blocks.size() * c];
    for (int b = 0; b < blocks.size(); b++) System.arraycopy(blocks.get(b), 0, w, b * c, c);
    SeedLmCodec ref = new SeedLmCodec(prm);
    SeedChoice[] want0 = new SeedChoice[blocks.size()];
    for (int b = 0; b < blocks.size(); b++) want0[b] = ref.searchRef(w, b * c);
    for (int bits : new int[] {256, 0}) {
      for (int cands : new int[] {FastSeedSearch.DEFAULT_CANDIDATES, 1}) {
        FastSeedSearch.Result res =
            new FastSeedSearch(c, p, prm.k(), 1, bits, null, cands).search(w, 0, blocks.size());
        for (int b = 0; b < blocks.size(); b++) {
          String msg = prm.name() + " bits=" + bits + " candidates=" + cands + " block " + b;
          assertEquals(want0[b].seed(), res.seed[b], msg);
          assertEquals(want0[b].err(), res.err[b], 0.0, msg);
          assertEquals(want0[b].exponent(), res.exp[b], msg);
          for (int j = 0; j < p; j++) assertEquals(want0[b].q(j), res.q[b * p + j], msg);
        }
      }
    }
  }

  @Test
  void fourBitBlocksAtTheMargin() {
    check(SeedLmParams.FOUR_BIT, 6);
  }

  @Test
  void threeBitBlocksAtTheMargin() {
    check(SeedLmParams.THREE_BIT, 6);
  }
}
