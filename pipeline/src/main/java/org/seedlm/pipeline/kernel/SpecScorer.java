package org.seedlm.pipeline.kernel;

/**
 * Private scalar scorer written from SPEC.md (float64 normal equations solved by Cholesky). Used
 * only until the reference codec's own per-seed scoring method is available; see {@link
 * RefScorers}.
 */
final class SpecScorer implements ExactScorer {
  private final int c, p, k;
  private final int[] taps;

  SpecScorer(int c, int p, int k) {
    this.c = c;
    this.p = p;
    this.k = k;
    this.taps = SeedTables.taps(k);
  }

  @Override
  public double error(float[] w, int off, int seed, int[] q, int qOff, int[] eOut) {
    int cp = c * p;
    double[] u = new double[cp];
    int s = seed;
    double half = 1 << (k - 1);
    for (int m = 0; m < cp; m++) {
      s = SeedTables.next(s, k, taps);
      u[m] = (s - half) / (half - 1);
    }
    double[] g = new double[p * p];
    double[] b = new double[p];
    for (int i = 0; i < c; i++) {
      for (int j = 0; j < p; j++) {
        b[j] += u[i * p + j] * w[off + i];
        for (int l = 0; l <= j; l++) g[j * p + l] += u[i * p + j] * u[i * p + l];
      }
    }
    double[] t = SeedTables.choleskySolve(g, b, p);
    double mx = 0;
    for (int j = 0; j < p; j++) mx = Math.max(mx, Math.abs(t[j]));
    int e = exponent(mx);
    double scale = Math.scalb(1.0, -e);
    double[] th = new double[p];
    for (int j = 0; j < p; j++) {
      double r = Math.rint(t[j] * scale);
      int qi = (int) Math.max(-8, Math.min(7, r));
      q[qOff + j] = qi;
      th[j] = Math.scalb((double) qi, e);
    }
    eOut[0] = e;
    double err = 0;
    for (int i = 0; i < c; i++) {
      double rec = 0;
      for (int j = 0; j < p; j++) rec += u[i * p + j] * th[j];
      double d = w[off + i] - rec;
      err += d * d;
    }
    return err;
  }

  /** e = ceil(log2(mx / 7.5)) clamped to [-8, 7]; -8 for mx == 0 or NaN. */
  static int exponent(double mx) {
    if (!(mx > 0)) return -8;
    double x = mx / 7.5;
    int e = Math.getExponent(x);
    if (e < Double.MIN_EXPONENT) return -8;
    if (x > Math.scalb(1.0, e)) e++;
    return Math.max(-8, Math.min(7, e));
  }
}
