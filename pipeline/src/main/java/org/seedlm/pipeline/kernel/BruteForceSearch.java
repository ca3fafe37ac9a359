package org.seedlm.pipeline.kernel;

/** Plain exhaustive search with an exact scorer (the reference semantics), for checks. */
final class BruteForceSearch {
  private BruteForceSearch() {}

  /** Returns {seed} and fills err[0]; ties to the smallest seed. */
  static int search(ExactScorer sc, int c, int p, int k, float[] w, int off, double[] errOut) {
    int[] q = new int[p];
    int[] e = new int[1];
    double best = Double.POSITIVE_INFINITY;
    int bs = -1;
    int n = (1 << k) - 1;
    for (int s = 1; s <= n; s++) {
      double er = sc.error(w, off, s, q, 0, e);
      if (er < best) {
        best = er;
        bs = s;
      }
    }
    errOut[0] = best;
    return bs;
  }
}
