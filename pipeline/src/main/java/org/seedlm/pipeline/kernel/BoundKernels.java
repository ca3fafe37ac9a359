package org.seedlm.pipeline.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector loops of the bound scan (step 2 of {@link FastSeedSearch}'s argument), unrolled for
 * the two shipped configurations: the cycle correlation {@code corr8}/{@code corr12} (C = 8, 12)
 * and the bound {@code fu = f + marg ||w'||^2} with the threshold test, for one block ({@code
 * scan3}/{@code scan4}, P = 3, 4) or two blocks sharing the table loads ({@code scan3x2}/{@code
 * scan4x2}). This is where the search spends its time. Flat signatures, no allocation.
 */
final class BoundKernels {
  private BoundKernels() {}

  static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  static final int VL = S.length();

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
}
