package org.seedlm.pipeline.gpu;

import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * A plain test oracle of SPEC section 4b (format version 2: per-group exponent offsets o_g, the
 * {@code nearest} and {@code best} coefficient rules), written from the SPEC in the operation order
 * of {@code SeedLmCodec}'s reference search (float64 t from the pseudo-inverse, err from the float64
 * U) and decode ({@link SeedLmCodec#decodeRule}). With o_g = 0 and {@code nearest} it is the
 * reference itself; {@link CudaHarnessTest} checks that. Once SeedLmCodec implements 4b, the
 * harness tests should take their expected values from it instead of from here.
 */
final class Spec4bOracle {
  private Spec4bOracle() {}

  static final int NEAREST = 0;
  static final int BEST = 1;

  /** E(x) = ceil(log2(x / 7.5)) exactly (smallest e with x <= 7.5 * 2^e); zero gives MIN_VALUE / 2. */
  static int exponentUnclamped(double x) {
    if (x == 0.0) return Integer.MIN_VALUE / 2;
    int g = Math.getExponent(x); // x in [2^g, 2^(g+1)) for normal x
    if (g < Double.MIN_EXPONENT) { // subnormal: scale up exactly
      return exponentUnclamped(Math.scalb(x, 64)) - 64;
    }
    return x <= Math.scalb(7.5, g - 2) ? g - 2 : g - 1;
  }

  /** SPEC 4b's reference rule: o_g = E(max |w| over the group) - 6, 0 for an all-zero group. */
  static int groupOffset(float[] w, int from, int to) {
    double mx = 0;
    for (int i = from; i < to; i++) mx = Math.max(mx, Math.abs(w[i]));
    return mx == 0 ? 0 : Math.max(-100, Math.min(100, exponentUnclamped(mx) - 6));
  }

  private static int clamp(int v) {
    return Math.max(SeedLmCodec.MIN_CODE, Math.min(SeedLmCodec.MAX_CODE, v));
  }

  private static int clamp(double r) {
    return r < SeedLmCodec.MIN_CODE ? SeedLmCodec.MIN_CODE : r > SeedLmCodec.MAX_CODE ? SeedLmCodec.MAX_CODE : (int) r;
  }

  /** err = sum_i (w_i - sum_j u_ij th_j)^2, as SeedLmCodec's reference computes it. */
  private static double err(double[] u, int base, double[] w, double[] th, int c, int p) {
    double err = 0.0;
    for (int i = 0; i < c; i++) {
      double y = 0.0;
      for (int j = 0; j < p; j++) y += u[base + i * p + j] * th[j];
      double r = w[i] - y;
      err += r * r;
    }
    return err;
  }

  /** Quantized error of {@code seed} for block w under the rule and offset; e_rel and q in the choice. */
  static SeedChoice score(SeedBasis basis, double[] w, int seed, int og, int rule) {
    SeedLmParams prm = basis.params();
    int c = prm.c(), p = prm.p(), base = seed * c * p;
    double[] pinv = basis.pinv(), u = basis.u();
    double[] t = new double[p], th = new double[p];
    double mx = 0.0;
    for (int j = 0; j < p; j++) {
      double acc = 0.0;
      for (int i = 0; i < c; i++) acc += pinv[base + j * c + i] * w[i];
      t[j] = acc;
      mx = Math.max(mx, Math.abs(acc));
    }
    int e0 = clamp(exponentUnclamped(mx) - og);
    if (rule == NEAREST) {
      int[] q = new int[p];
      for (int j = 0; j < p; j++) {
        q[j] = clamp(Math.rint(Math.scalb(t[j], -(og + e0))));
        th[j] = Math.scalb((double) q[j], og + e0);
      }
      return new SeedChoice(seed, e0, q, err(u, base, w, th, c, p));
    }
    SeedChoice best = null;
    int[] q = new int[p];
    for (int er : new int[] {e0, clamp(e0 - 1)}) { // larger e_rel first
      double[] f = new double[p];
      for (int j = 0; j < p; j++) f[j] = Math.floor(Math.scalb(t[j], -(og + er)));
      for (int m = 0; m < 1 << p; m++) { // lexicographic: q_1 is the most significant choice
        for (int j = 0; j < p; j++) {
          q[j] = clamp(f[j] + ((m >> (p - 1 - j)) & 1));
          th[j] = Math.scalb((double) q[j], og + er);
        }
        double e = err(u, base, w, th, c, p);
        if (best == null || e < best.err()) best = new SeedChoice(seed, er, q, e);
      }
    }
    return best;
  }

  /** Every seed scored, the smallest error wins, ties to the smaller seed. */
  static SeedChoice search(SeedBasis basis, float[] w, int off, int og, int rule) {
    int c = basis.params().c();
    double[] b = new double[c];
    for (int i = 0; i < c; i++) b[i] = w[off + i];
    SeedChoice best = null;
    for (int s = 1; s <= basis.params().numSeeds(); s++) {
      SeedChoice ch = score(basis, b, s, og, rule);
      if (best == null || ch.err() < best.err()) best = ch;
    }
    return best;
  }

  /** Version 2 decode: th_j = q_j * 2^(o_g + e_rel) in float32, then the canonical decode rule. */
  static float[] decode(SeedLmParams prm, byte[] packed, long blocks, long numel, byte[] offsets, int g) {
    SeedLmCodec codec = new SeedLmCodec(prm);
    int c = prm.c(), p = prm.p();
    float[] out = new float[Math.toIntExact(numel)];
    float[] block = new float[c];
    float[] th = new float[p];
    int[] col = new int[p];
    for (long b = 0; b < blocks; b++) {
      SeedChoice ch = codec.readBlock(packed, b * prm.bitsPerBlock());
      int e = (offsets == null ? 0 : offsets[(int) (b / g)]) + ch.exponent();
      for (int j = 0; j < p; j++) {
        th[j] = (float) Math.scalb((double) ch.q(j), e);
        col[j] = ch.seed() * c * p + j;
      }
      SeedLmCodec.decodeRule(codec.basis().uf(), col, 0, p, th, 0, c, p, block, 0);
      int n = (int) Math.min(c, numel - b * c);
      System.arraycopy(block, 0, out, (int) (b * c), n);
    }
    return out;
  }
}
