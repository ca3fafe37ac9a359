package org.seedlm.pipeline.kernel;

import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * The exact per-seed scorer used for final candidates: the reference codec's own per-seed rule
 * ({@link SeedLmCodec#choice}, the block widened exactly to float64), so the errors are the
 * reference's by construction; plus the pseudo-inverse row bounds of the all-zero shortcut.
 */
final class RefScorers {
  private RefScorers() {}

  static ExactScorer forParams(int c, int p, int k, CoefficientRule rule) {
    return new Ref(SeedBasis.of(new SeedLmParams(c, p, k)), rule);
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
   * If {@code cap[s] * max|w_i| * (1 + 1e-12) <= 2^(o-9)} (o the block's exponent offset) then every
   * computed |t_j| <= 2^(o-9), so e_rel = -8 and, under the {@code nearest} rule, every q_j =
   * rint(t_j * 2^(8-o)) = 0, and the reference's error is exactly the sequential float64 sum of w_i^2
   * (the reconstruction is +-0). Not used under {@code best}, whose candidates include q_j = +-1.
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

  /** The reference's own per-seed rule ({@link SeedLmCodec#choice}) on the block widened to float64. */
  static final class Ref implements ExactScorer {
    private final SeedLmCodec codec;
    private final int c, p;

    Ref(SeedBasis basis, CoefficientRule rule) {
      this.codec = new SeedLmCodec(basis.params(), rule, 0);
      this.c = basis.params().c();
      this.p = basis.params().p();
    }

    CoefficientRule rule() {
      return codec.rule();
    }

    @Override
    public double error(float[] w, int off, int seed, int offset, int[] q, int qOff, int[] eOut) {
      double[] block = new double[c];
      for (int i = 0; i < c; i++) {
        block[i] = w[off + i];
      }
      SeedChoice ch = codec.choice(block, 0, seed, offset);
      System.arraycopy(ch.q(), 0, q, qOff, p);
      eOut[0] = ch.exponent();
      return ch.err();
    }
  }
}
