package org.seedlm.pipeline.kernel;

import java.util.Arrays;

/**
 * The exact finish (steps 4 to 6 of {@link FastSeedSearch}'s argument), per thread: scores the kept
 * candidates of a block with the reference's per-seed rule in increasing lower bound while the bound
 * does not exceed the best error, decides whether the seeds left out could still win or tie, and if
 * so runs the second pass ({@link BoundScan#scanAll}) and scores every seed it collects.
 */
final class ExactFinish {
  private final SeedTables tb;
  private final int c, p;
  private final BoundScan scan;
  private final TopCandidates cand;
  private final ExactScorer scorer;
  private final double[] zeroCap; // (2^K,) see RefScorers#pinvRow1PerSeed; null unless the reference's scorer
  private final int[] eOut = new int[1];
  private final int[] qTmp;
  long calls; // exact scorings (diagnostics)
  int fallbacks; // second passes (diagnostics)

  ExactFinish(SeedTables tb, BoundScan scan, TopCandidates cand, ExactScorer scorer, double[] zeroCap) {
    this.tb = tb;
    this.c = tb.c;
    this.p = tb.p;
    this.scan = scan;
    this.cand = cand;
    this.scorer = scorer;
    this.zeroCap = zeroCap;
    this.qTmp = new int[tb.p];
  }

  /** Lower bound of the (unscaled) error from an upper bound fu of f (scaled units). */
  double lb(int b, double fu) {
    return Math.scalb(scan.w2d[b] - fu - FastSeedSearch.ABS, -2 * scan.kscale[b]);
  }

  void finish(float[] w, int wo, int b, FastSeedSearch.Result r, int gb, int offset) {
    this.offset = offset;
    zeroLimit = Math.scalb(1.0, offset - 9);
    blkMax = 0;
    errZero = 0.0;
    for (int i = 0; i < c; i++) {
      double x = w[wo + i];
      blkMax = Math.max(blkMax, Math.abs(x));
      errZero += x * x;
    }
    int m = cand.capacity();
    int hb = b * m;
    int cnt = cand.count[b];
    double[] lbs = new double[cnt];
    Integer[] idx = new Integer[cnt];
    for (int i = 0; i < cnt; i++) {
      lbs[i] = lb(b, cand.fu[hb + i]);
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
      int seed = tb.state[cand.pos[hb + i]];
      double e = exactErr(w, wo, seed);
      if (e < best || (e == best && seed < bestSeed)) {
        best = e;
        bestSeed = seed;
      }
    }
    cand.remember(b, scan.w2d[b]);
    if (!stopped && cand.partial(b) && !(lb(b, cand.threshold[b]) > best)) {
      fallbacks++;
      // second pass (same kernels) collecting every seed with LB <= best
      double sb = Math.scalb(best, 2 * scan.kscale[b]);
      // step 6 of FastSeedSearch's argument: 1e-6 ||w'||^2 > the float32 rounding of t2
      float t2 = (float) (scan.w2d[b] - FastSeedSearch.ABS - sb - 1e-6 * scan.w2d[b]);
      if (!(t2 > Float.NEGATIVE_INFINITY)) t2 = Float.NEGATIVE_INFINITY;
      cand.startCollecting(b, t2);
      scan.scanAll(b);
      cand.stopCollecting();
      int nc = cand.nCollected;
      int[] collectedPos = cand.collectedPos;
      float[] collectedFu = cand.collectedFu;
      double[] collectedLb = new double[nc];
      int nToScore = 0;
      int[] toScore = new int[nc];
      for (int i = 0; i < nc; i++) {
        collectedLb[i] = lb(b, collectedFu[i]);
        int seed = tb.state[collectedPos[i]];
        if (zeroCap != null && zeroCap[seed] * blkMax * (1 + 1e-12) <= zeroLimit) {
          // all q = 0: error is errZero, no scoring (any processing order is valid: every
          // candidate with LB <= the final best is considered)
          if (collectedLb[i] <= best && (errZero < best || (errZero == best && seed < bestSeed))) {
            best = errZero;
            bestSeed = seed;
          }
        } else toScore[nToScore++] = i;
      }
      // approximately increasing LB (float keys, primitive sort); every candidate is checked
      // against the current best, so the order only affects speed, not the result
      long[] key = new long[nToScore];
      for (int ii = 0; ii < nToScore; ii++) {
        int fb = Float.floatToRawIntBits((float) collectedLb[toScore[ii]]);
        fb ^= (fb >> 31) & 0x7fffffff; // order-preserving for signed floats
        key[ii] = ((long) fb << 32) | toScore[ii];
      }
      Arrays.sort(key);
      for (int ii = 0; ii < nToScore; ii++) {
        int i = (int) key[ii];
        if (collectedLb[i] > best) continue;
        int seed = tb.state[collectedPos[i]];
        double e = exactErr(w, wo, seed);
        if (e < best || (e == best && seed < bestSeed)) {
          best = e;
          bestSeed = seed;
        }
      }
    }
    score(w, wo, bestSeed, r, gb, offset);
  }

  private double blkMax, errZero; // of the block being finished: max |w_i| and sum w_i^2 (float64)
  private int offset; // of the block being finished: its group's exponent offset
  private double zeroLimit; // 2^(offset - 9): |t_j| at or below it quantize to 0 (nearest rule)

  /** The reference's error for seed; without scoring when every q is provably 0. */
  double exactErr(float[] w, int wo, int seed) {
    if (zeroCap != null && zeroCap[seed] * blkMax * (1 + 1e-12) <= zeroLimit) return errZero;
    calls++;
    return scorer.error(w, wo, seed, offset, qTmp, 0, eOut);
  }

  void score(float[] w, int wo, int seed, FastSeedSearch.Result r, int gb, int offset) {
    double e = scorer.error(w, wo, seed, offset, r.q, gb * p, eOut);
    calls++;
    r.seed[gb] = seed;
    r.exp[gb] = eOut[0];
    r.err[gb] = e;
  }
}
