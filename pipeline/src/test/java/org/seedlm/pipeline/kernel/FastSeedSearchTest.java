package org.seedlm.pipeline.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

class FastSeedSearchTest {

  static float[] blocks(String kind, int c, int nb, long seed) {
    Random r = new Random(seed);
    float[] w = new float[c * nb];
    for (int i = 0; i < w.length; i++) {
      double g = r.nextGaussian();
      switch (kind) {
        case "gauss": w[i] = (float) g; break;
        case "gauss-small": w[i] = (float) (0.02 * g); break;
        case "student3": {
          double chi = 0;
          for (int t = 0; t < 3; t++) { double z = r.nextGaussian(); chi += z * z; }
          w[i] = (float) (g / Math.sqrt(chi / 3));
          break;
        }
        case "cauchy": w[i] = (float) Math.tan(Math.PI * (r.nextDouble() - 0.5)); break;
        case "outlier": w[i] = (float) (i % c == 3 ? 50 * g : 0.01 * g); break;
        case "zero": w[i] = 0; break;
        case "const": w[i] = 0.37f; break;
        case "tiny": w[i] = (float) (1e-30 * g); break;
        case "huge": w[i] = (float) (1e30 * g); break;
        case "mixed-scale": w[i] = (float) (i % c == 0 ? 1e30 * g : 1e-30 * g); break;
        case "small-e": w[i] = (float) (1e-3 * g); break;
        case "gauss-2e-3": w[i] = (float) (2e-3 * g); break;
        // SPEC 4b's rows: Gaussian with 0.1 % outliers at 10 sigma (random sign), sigma 1 and 0.002
        case "gauss-outliers": w[i] = (float) (r.nextDouble() < 1e-3 ? Math.copySign(10, g) : g); break;
        case "gauss-2e-3-outliers": w[i] = (float) (2e-3 * (r.nextDouble() < 1e-3 ? Math.copySign(10, g) : g)); break;
        case "small-e4": w[i] = (float) (1e-4 * g); break;
        case "small-e3x3": w[i] = (float) (3e-3 * g); break;
        case "alt": // outlier-dominated and Gaussian blocks mixed (exercises the warm-start threshold)
          w[i] = (float) ((i / c) % 3 == 0 ? (i % c == 1 ? 100 * g : 0.01 * g) : g);
          break;
        default: throw new IllegalArgumentException(kind);
      }
    }
    return w;
  }

  static void check(int c, int p, int k, String kind, int nb, int bits, int threads) {
    check(c, p, k, kind, nb, bits, threads, FastSeedSearch.DEFAULT_CANDIDATES);
  }

  static void check(int c, int p, int k, String kind, int nb, int bits, int threads, int cands) {
    check(c, p, k, kind, nb, bits, threads, cands, CoefficientRule.NEAREST, 0, 0);
  }

  /**
   * The kernel against the reference's exhaustive search ({@link SeedLmCodec#searchRef}: every seed
   * scored, the rule's candidates each) for every block, under {@code rule}, in groups of {@code g}
   * blocks (0: every offset 0) with the reference offsets plus a per-group shift drawn from [-shift,
   * shift] (any offset decodes, so the search must be exact for every one).
   */
  static void check(int c, int p, int k, String kind, int nb, int bits, int threads, int cands,
      CoefficientRule rule, int g, int shift) {
    float[] w = blocks(kind, c, nb, kind.hashCode() * 31L + c);
    SeedLmCodec ref = new SeedLmCodec(new SeedLmParams(c, p, k), rule, g);
    int[] offsets = ref.groupOffsets(w, 0, nb);
    Random r = new Random(nb * 31L + g);
    for (int i = 0; i < offsets.length; i++) {
      offsets[i] = Math.max(-100, Math.min(100, offsets[i] + (shift == 0 ? 0 : r.nextInt(2 * shift + 1) - shift)));
    }
    ExactScorer sc = RefScorers.forParams(c, p, k, rule);
    FastSeedSearch fs = new FastSeedSearch(c, p, k, threads, bits, sc, cands);
    FastSeedSearch.Result res = fs.search(w, 0, nb, offsets, g);
    for (int b = 0; b < nb; b++) {
      double[] wd = new double[c];
      for (int i = 0; i < c; i++) wd[i] = w[b * c + i];
      int o = SeedLmCodec.offsetOf(offsets, g, b);
      SeedChoice want = ref.searchRef(wd, 0, o);
      String msg = kind + " C=" + c + " P=" + p + " K=" + k + " bits=" + bits + " " + rule + " G=" + g + " offset "
          + o + " block " + b;
      assertEquals(want.err(), res.err[b], 0.0, msg);
      // the reference keeps the smallest seed on exact ties, and so must the kernel
      assertEquals(want.seed(), res.seed[b], msg);
      assertEquals(want.exponent(), res.exp[b], msg);
      for (int j = 0; j < p; j++) assertEquals(want.q(j), res.q[b * p + j], msg);
      // the scorer is the reference's per-seed rule, bit for bit
      int[] q = new int[p];
      int[] e = new int[1];
      for (int s : new int[] {1, want.seed(), (1 << k) - 1, 1 + (b * 7919) % ((1 << k) - 1)}) {
        double got = sc.error(w, b * c, s, o, q, 0, e);
        SeedChoice ch = ref.choice(wd, 0, s, o);
        assertEquals(ch.err(), got, 0.0, msg + " seed " + s);
        assertEquals(ch.exponent(), e[0], msg);
        for (int j = 0; j < p; j++) assertEquals(ch.q(j), q[j], msg);
      }
    }
  }

  @Test
  void smallKBothRulesWithOffsets() {
    for (CoefficientRule rule : CoefficientRule.values())
      for (String kind : KINDS) {
        check(8, 3, 8, kind, 60, 256, 2, FastSeedSearch.DEFAULT_CANDIDATES, rule, 7, 0);
        check(8, 3, 8, kind, 40, 0, 1, 2, rule, 5, 12);
        check(12, 4, 8, kind, 30, 256, 1, FastSeedSearch.DEFAULT_CANDIDATES, rule, 4, 6);
        check(5, 3, 6, kind, 30, 256, 2, 1, rule, 3, 0);
      }
  }

  static final String[] KINDS = {
    "gauss", "gauss-small", "student3", "cauchy", "outlier", "zero", "const", "tiny", "huge",
    "mixed-scale", "small-e", "alt", "small-e4", "small-e3x3"
  };

  @Test
  void smallKManyBlocksVectorAndScalar() {
    for (int bits : new int[] {256, 0})
      for (String kind : KINDS) {
        check(8, 3, 8, kind, 200, bits, 2);
        check(12, 4, 8, kind, 100, bits, 1);
        check(6, 2, 10, kind, 50, bits, 2);
        check(5, 3, 6, kind, 50, bits, 1);
      }
  }

  @Test
  void secondPassWithFewCandidates() {
    for (int bits : new int[] {256, 0})
      for (String kind : new String[] {"gauss", "cauchy", "small-e", "outlier"}) {
        check(8, 3, 8, kind, 100, bits, 2, 1);
        check(12, 4, 10, kind, 40, bits, 1, 2);
      }
    check(8, 3, 16, "gauss", 2, 256, 1, 1);
    check(12, 4, 16, "gauss", 2, 0, 1, 1);
  }

  @Test
  void fourBitK16() {
    for (String kind : KINDS) check(8, 3, 16, kind, 3, 256, 2);
    check(8, 3, 16, "gauss", 3, 0, 1);
    check(8, 3, 16, "cauchy", 2, 0, 1);
  }

  @Test
  void threeBitK16() {
    for (String kind : KINDS) check(12, 4, 16, kind, 2, 256, 2);
    check(12, 4, 16, "gauss", 2, 0, 1);
    check(12, 4, 16, "outlier", 2, 0, 1);
  }
}
