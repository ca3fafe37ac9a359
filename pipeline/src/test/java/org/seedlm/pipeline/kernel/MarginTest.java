package org.seedlm.pipeline.kernel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Empirical check of the rigorous float32 margins: for every seed of the K=16 configurations and
 * several blocks, |f_float32 - f_float64| <= marg * ||w||^2, where f_float64 is the projection
 * energy from a float64 Gram-Schmidt basis of the exact integer window.
 */
class MarginTest {
  static double check(int c, int p, int k, String kind) {
    SeedTables tb = SeedTables.get(c, p, k);
    float[] w = FastSeedSearchTest.blocks(kind, c, 6, 99);
    double worst = 0;
    double[] vv = new double[c * p], qq = new double[c * p];
    for (int b = 0; b < 6; b++) {
      float mx = 0;
      for (int i = 0; i < c; i++) mx = Math.max(mx, Math.abs(w[b * c + i]));
      if (mx == 0) continue;
      int ks = -Math.getExponent(mx);
      float[] ws = new float[c];
      double w2 = 0;
      for (int i = 0; i < c; i++) {
        ws[i] = (float) Math.scalb((double) w[b * c + i], ks);
        w2 += (double) ws[i] * ws[i];
      }
      int bad = 0;
      for (int o = 0; o < tb.n; o++) {
        for (int m = 0; m < c * p; m++) vv[m] = tb.v[o + m + 1];
        if (!SeedTables.gramSchmidt2(vv, qq, c, p)) continue;
        double fd = 0;
        for (int j = 0; j < p; j++) {
          double y = 0;
          for (int i = 0; i < c; i++) y += qq[i * p + j] * ws[i];
          fd += y * y;
        }
        float f;
        double marg;
        if (tb.marg[o] >= 0) {
          float[] cb = new float[p];
          for (int j = 0; j < p; j++) {
            int m = o + 1 + j;
            float acc = tb.v[m] * ws[0];
            for (int i = 1; i < c; i++) acc = Math.fma(tb.v[m + i * p], ws[i], acc);
            cb[j] = acc;
          }
          f = 0;
          for (int kk = 0; kk < p; kk++) {
            float y = tb.a[SeedTables.tri(kk, 0)][o] * cb[0];
            for (int j = 1; j <= kk; j++) y = Math.fma(tb.a[SeedTables.tri(kk, j)][o], cb[j], y);
            f = kk == 0 ? y * y : Math.fma(y, y, f);
          }
          marg = tb.marg[o];
        } else {
          int bi = 0;
          while (tb.badPos[bi] != o) bi++;
          bad++;
          f = 0;
          for (int j = 0; j < p; j++) {
            float y = tb.badQs[j][bi] * ws[0];
            for (int i = 1; i < c; i++) y = Math.fma(tb.badQs[i * p + j][bi], ws[i], y);
            f = Math.fma(y, y, f);
          }
          marg = tb.badMargS[bi];
        }
        double ratio = Math.abs(f - fd) / (marg * w2);
        worst = Math.max(worst, ratio);
        assertTrue(ratio <= 1, "seed pos " + o + " f32=" + f + " f64=" + fd + " marg=" + marg);
      }
      assertTrue(bad == tb.nBad);
    }
    return worst;
  }

  @Test
  void marginsHold() {
    for (String kind : new String[] {"gauss", "outlier", "cauchy"}) {
      double a = check(8, 3, 16, kind), b = check(12, 4, 16, kind);
      System.out.printf("margin usage %s: 4-bit %.3f, 3-bit %.3f (max |f32-f64| / bound)%n", kind, a, b);
    }
  }
}
