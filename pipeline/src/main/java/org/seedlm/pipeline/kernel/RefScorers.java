package org.seedlm.pipeline.kernel;

import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * The exact per-seed scorer used for final candidates: a bit-for-bit replica of {@code
 * SeedLmCodec.quantizedError} (same tables from {@link SeedBasis}, same operation order, plain
 * multiply and add, no FMA) without its per-call allocations and checks. The tests compare it with
 * {@link SeedLmCodec#quantizedError} and {@link SeedLmCodec#choice} on every path.
 */
final class RefScorers {
  private RefScorers() {}

  static ExactScorer forParams(int c, int p, int k) {
    return new Ref(SeedBasis.of(new SeedLmParams(c, p, k)));
  }

  /** Largest 1-norm of a row of the reference's pseudo-inverses: |t_j| <= this * max|w_i|. */
  static double maxPinvRow1(int c, int p, int k) {
    SeedBasis basis = SeedBasis.of(new SeedLmParams(c, p, k));
    double[] pinv = basis.pinv();
    double mx = 0;
    for (int r = 0; r + c <= pinv.length; r += c) {
      double s = 0;
      for (int i = 0; i < c; i++) s += Math.abs(pinv[r + i]);
      mx = Math.max(mx, s);
    }
    return mx;
  }

  /**
   * Per seed (index = seed value): the largest 1-norm of a row of the reference's pseudo-inverse.
   * If {@code cap[s] * max|w_i| * (1 + 1e-12) <= 2^-9} then every computed |t_j| <= 2^-9, so e = -8
   * and every q_j = rint(t_j * 2^8) = 0, and the reference's error is exactly the sequential float64
   * sum of w_i^2 (the reconstruction is +-0).
   */
  static double[] pinvRow1PerSeed(int c, int p, int k) {
    SeedBasis basis = SeedBasis.of(new SeedLmParams(c, p, k));
    double[] pinv = basis.pinv();
    int n = (1 << k) - 1;
    double[] cap = new double[n + 1];
    for (int s = 1; s <= n; s++) {
      double mx = 0;
      for (int j = 0; j < p; j++) {
        double sum = 0;
        int row = s * c * p + j * c;
        for (int i = 0; i < c; i++) sum += Math.abs(pinv[row + i]);
        mx = Math.max(mx, sum);
      }
      cap[s] = mx;
    }
    return cap;
  }

  static final class Ref implements ExactScorer {
    private final int c, p;
    private final double[] pinv, u;

    Ref(SeedBasis basis) {
      this.c = basis.params().c();
      this.p = basis.params().p();
      this.pinv = basis.pinv();
      this.u = basis.u();
    }

    @Override
    public double error(float[] w, int off, int seed, int[] q, int qOff, int[] eOut) {
      int base = seed * c * p;
      double[] th = new double[p];
      double maxAbs = 0.0;
      for (int j = 0; j < p; j++) {
        double acc = 0.0;
        int row = base + j * c;
        for (int i = 0; i < c; i++) acc += pinv[row + i] * (double) w[off + i];
        th[j] = acc;
        double a = Math.abs(acc);
        if (a > maxAbs) maxAbs = a;
      }
      int e = SeedLmCodec.exponent(maxAbs);
      for (int j = 0; j < p; j++) {
        int qj = SeedLmCodec.quantize(th[j], e);
        q[qOff + j] = qj;
        th[j] = Math.scalb((double) qj, e);
      }
      eOut[0] = e;
      double err = 0.0;
      for (int i = 0; i < c; i++) {
        int row = base + i * p;
        double y = 0.0;
        for (int j = 0; j < p; j++) y += u[row + j] * th[j];
        double r = (double) w[off + i] - y;
        err += r * r;
      }
      return err;
    }
  }
}
