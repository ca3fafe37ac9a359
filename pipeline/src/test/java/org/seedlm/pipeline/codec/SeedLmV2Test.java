package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Format version 2 (SPEC section 4b): the reference offset rule and the coefficient rules, on values
 * worked out by hand and against an exhaustive search written here independently of the codec's.
 */
class SeedLmV2Test {

  /** C = P = 1, K = 2: seed 1 gives U = [0], seed 2 U = [1], seed 3 U = [-1] (the states 2, 3, 1 after the seed). */
  static final SeedLmParams ONE = new SeedLmParams(1, 1, 2);

  static final SeedLmCodec ONE_BEST = new SeedLmCodec(ONE, CoefficientRule.BEST, 0);
  static final SeedLmCodec ONE_NEAREST = new SeedLmCodec(ONE, CoefficientRule.NEAREST, 0);

  // ---------------------------------------------------------------------------------------------
  // The offset rule: o_g = E(max |w|) - 6, E(x) = ceil(log2(x / 7.5)), 0 for an all-zero group, clamp [-100, 100]

  @Test
  void offsetOfAnAllZeroGroupIsZero() {
    assertEquals(0, SeedLmCodec.groupOffset(new float[64], 0, 64));
    assertEquals(0, SeedLmCodec.groupOffset(new float[] {0f, -0f}, 0, 2));
  }

  @Test
  void offsetFollowsTheLargestWeight() {
    // 7.5 * 2^7 = 960 < 1000 <= 1920 = 7.5 * 2^8: E = 8, o = 2, whatever the other weights are
    float[] w = new float[4096];
    w[1234] = -1000f;
    w[7] = 1e-30f;
    assertEquals(2, SeedLmCodec.groupOffset(w, 0, w.length));
    // exactly 7.5 is E = 0 (o = -6); the next float above is E = 1 (o = -5)
    assertEquals(-6, SeedLmCodec.groupOffset(new float[] {7.5f}, 0, 1));
    assertEquals(-5, SeedLmCodec.groupOffset(new float[] {Math.nextUp(7.5f)}, 0, 1));
    // sigma = 0.002 weights with the largest 0.0079: 7.5 * 2^-10 = 0.00732 < 0.0079 <= 0.0146: E = -9, o = -15
    assertEquals(-15, SeedLmCodec.groupOffset(new float[] {0.002f, -0.0079f, 0.0031f}, 0, 3));
    // only the given range counts
    assertEquals(-6, SeedLmCodec.groupOffset(new float[] {1000f, 7.5f}, 1, 1));
  }

  @Test
  void offsetOfOneHugeWeightIsClampedAt100() {
    // 3e38 / 7.5 = 4e37, log2 = 124.9: E = 125, o = 119 -> 100
    assertEquals(100, SeedLmCodec.groupOffset(new float[] {0.5f, 3e38f, -2f}, 0, 3));
    // at the clamp: 7.5 * 2^106 has E = 106, o = 100; the next float above has E = 107 (o = 101 -> 100)
    float top = (float) Math.scalb(7.5, 106);
    assertEquals(100, SeedLmCodec.groupOffset(new float[] {top}, 0, 1));
    assertEquals(100, SeedLmCodec.groupOffset(new float[] {Math.nextUp(top)}, 0, 1));
    assertEquals(100, SeedLmCodec.groupOffset(new float[] {Math.nextDown(top)}, 0, 1)); // still E = 106
    assertEquals(99, SeedLmCodec.groupOffset(new float[] {top / 2}, 0, 1));
  }

  @Test
  void offsetsOfSmallAndSubnormalWeightsAreClampedAtMinus100() {
    // 7.5 * 2^-94 has E = -94, o = -100; half of it E = -95 (o = -101 -> -100); a float above it E = -93 (o = -99)
    float low = (float) Math.scalb(7.5, -94);
    assertEquals(-100, SeedLmCodec.groupOffset(new float[] {low}, 0, 1));
    assertEquals(-100, SeedLmCodec.groupOffset(new float[] {low / 2}, 0, 1));
    assertEquals(-99, SeedLmCodec.groupOffset(new float[] {Math.nextUp(low)}, 0, 1));
    // subnormal floats: 2^-149 lies in (7.5 * 2^-152, 7.5 * 2^-151], E = -151
    assertEquals(-100, SeedLmCodec.groupOffset(new float[] {Float.MIN_VALUE, -Float.MIN_VALUE}, 0, 2));
    assertEquals(-151, SeedLmCodec.ceilExponent(Float.MIN_VALUE));
    // subnormal doubles are exact too: 2^-1074 lies in (7.5 * 2^-1077, 7.5 * 2^-1076]
    assertEquals(-1076, SeedLmCodec.ceilExponent(Double.MIN_VALUE));
    assertEquals(-1075, SeedLmCodec.ceilExponent(3 * Double.MIN_VALUE)); // 3 > 1.875: E = -1076 + 1
  }

  @Test
  void ceilExponentAgainstAPlainSearch() {
    SplittableRandom r = new SplittableRandom(3);
    for (int i = 0; i < 20000; i++) {
      float x = Float.intBitsToFloat(1 + r.nextInt(0x7f7fffff)); // every positive finite float
      int e = -160;
      while (!((double) x <= 7.5 * Math.pow(2, e))) {
        e++;
      }
      assertEquals(e, SeedLmCodec.ceilExponent(x), "x=" + x);
      assertEquals(Math.max(-100, Math.min(100, e - 6)), SeedLmCodec.groupOffset(new float[] {x}, 0, 1), "x=" + x);
    }
    assertThrows(IllegalArgumentException.class, () -> SeedLmCodec.ceilExponent(0));
    assertThrows(IllegalArgumentException.class, () -> SeedLmCodec.groupOffset(new float[] {Float.NaN}, 0, 1));
  }

  @Test
  void groupOffsetsCutGroupsOfGBlocks() {
    SeedLmCodec c = new SeedLmCodec(new SeedLmParams(4, 2, 8), CoefficientRule.BEST, 2);
    // 5 blocks of 4 = groups {0, 1}, {2, 3}, {4}
    float[] w = new float[20];
    w[3] = 7.5f; // group 0: o = -6
    w[8] = 960f; // group 1: 960 = 7.5 * 2^7, o = 1
    assertArrayEquals(new int[] {-6, 1, 0}, c.groupOffsets(w, 0, 5));
    assertArrayEquals(new int[0], new SeedLmCodec(new SeedLmParams(4, 2, 8)).groupOffsets(w, 0, 5));
    assertEquals(3, c.groups(5));
  }

  // ---------------------------------------------------------------------------------------------
  // e0 = E(max |t|) - o clamped to [-8, 7], and the rules

  @Test
  void exponentWithOffset() {
    assertEquals(-2, SeedLmCodec.exponent(0.001, -10)); // E(0.001) = -12
    assertEquals(-8, SeedLmCodec.exponent(0.001, 0)); // clamped
    assertEquals(7, SeedLmCodec.exponent(1e6, 0)); // E = 18, clamped
    assertEquals(-8, SeedLmCodec.exponent(0, 50));
    assertEquals(-8, SeedLmCodec.exponent(0x1.ep-6, 0)); // 7.5 * 2^-8: the version 1 boundary
  }

  @Test
  void bestBreaksATieBetweenRoundingsTowardTheSmallerCode() {
    // seed 2 (U = [1]): t = w = 2.75, e0 = E(2.75) = -1, t / 2^-1 = 5.5: q = 5 and q = 6 both miss by 0.25
    // (error 0.0625); at e0 - 1 = -2, t / 2^-2 = 11 clamps to 7: 1.75, error 1. best: the smaller q, 5;
    // nearest: round half to even, 6.
    assertEquals(new SeedChoice(2, -1, new int[] {5}, 0.0625), ONE_BEST.choice(new double[] {2.75}, 0, 2, 0));
    assertEquals(new SeedChoice(2, -1, new int[] {6}, 0.0625), ONE_NEAREST.choice(new double[] {2.75}, 0, 2, 0));
    // negative: t / 2^-1 = -5.5, candidates -6 and -5, tie: -6 (also nearest's, half to even)
    assertEquals(new SeedChoice(2, -1, new int[] {-6}, 0.0625), ONE_BEST.choice(new double[] {-2.75}, 0, 2, 0));
    // seed 3 (U = [-1]) gives the same error with t = -2.75: q = -6 (lexicographically smallest);
    // the search keeps the smaller seed, 2
    assertEquals(new SeedChoice(3, -1, new int[] {-6}, 0.0625), ONE_BEST.choice(new double[] {2.75}, 0, 3, 0));
    assertEquals(new SeedChoice(2, -1, new int[] {5}, 0.0625), ONE_BEST.searchRef(new double[] {2.75}, 0, 0));
  }

  @Test
  void bestBreaksATieBetweenExponentsTowardTheLargerOne() {
    // t = -1: e0 = E(1) = -2, q = -4 is exact; at e0 - 1 = -3, q = -8 is exact too: the larger e_rel, -2, wins
    assertEquals(new SeedChoice(2, -2, new int[] {-4}, 0.0), ONE_BEST.choice(new double[] {-1.0}, 0, 2, 0));
    // with P = 1 the e0 - 1 candidates clamp to 7 (or -8 / -7): e0 - 1 only ties; with P > 1 it can win (see
    // the brute force below)
  }

  @Test
  void e0AtTheLowerClampHasOneExponentOnly() {
    // t = 0.001 at offset 0: E = -12, e0 = -8 (clamped), e0 - 1 clamps to -8 again: e_rel = -8.
    // t / 2^-8 = 0.256: {0, 1}: 0 (error 1e-6) beats 2^-8 (error (2^-8 - 0.001)^2)
    assertEquals(new SeedChoice(2, -8, new int[] {0}, 0.001 * 0.001), ONE_BEST.choice(new double[] {0.001}, 0, 2, 0));
    // t / 2^-8 = 0.75: {0, 1}: 2^-8 is nearer
    double t = 0.75 * 0x1p-8;
    assertEquals(new SeedChoice(2, -8, new int[] {1}, (t - 0x1p-8) * (t - 0x1p-8)),
        ONE_BEST.choice(new double[] {t}, 0, 2, 0));
    // the same t = 0.001 in a group of offset -10: e0 = -12 + 10 = -2, e = -12; t / 2^-12 = 4.096: {4, 5}:
    // 4 * 2^-12 (error (0.001 - 2^-10)^2); at e_rel -3, t / 2^-13 = 8.19 clamps to 7: 7 * 2^-13, farther
    assertEquals(new SeedChoice(2, -2, new int[] {4}, (0.001 - 0x1p-10) * (0.001 - 0x1p-10)),
        ONE_BEST.choice(new double[] {0.001}, 0, 2, -10));
  }

  @Test
  void decodeWithOffsetIsDecodeWithTheSumExponent() {
    SeedLmCodec c = new SeedLmCodec(new SeedLmParams(8, 3, 8));
    float[] a = new float[8];
    float[] b = new float[8];
    c.decodeBlock(77, -3, 5, new int[] {5, -2, 7}, a, 0);
    c.decodeBlock(77, 2, new int[] {5, -2, 7}, b, 0);
    assertArrayEquals(b, a);
    // offsets far outside the 4-bit exponent: exact powers of two, the same U
    c.decodeBlock(77, -8, -100, new int[] {5, -2, 7}, a, 0);
    c.decodeBlock(77, 0, new int[] {5, -2, 7}, b, 0);
    for (int i = 0; i < 8; i++) {
      assertEquals(Math.scalb((double) b[i], -108), (double) a[i], 0.0, "weight " + i);
    }
    assertThrows(IllegalArgumentException.class, () -> c.decodeBlock(77, 0, 101, new int[] {1, 2, 3}, a, 0));
  }

  // ---------------------------------------------------------------------------------------------
  // Both rules against an exhaustive search of this test's own

  /**
   * The rule's choice for one seed by brute force: t as the reference defines it (pinv w, i ascending),
   * then EVERY q in [-8, 7]^P for e_rel in {e0, e0 - 1}, kept when it is a candidate of the rule, scored
   * with the reference's error arithmetic; the smallest error wins, ties to the larger e_rel, then the
   * lexicographically smallest q.
   */
  static SeedChoice bruteForce(SeedBasis basis, CoefficientRule rule, double[] w, int seed, int offset) {
    int c = basis.params().c();
    int p = basis.params().p();
    double[] pinv = basis.pinv();
    double[] u = basis.u();
    double[] t = new double[p];
    double maxAbs = 0;
    for (int j = 0; j < p; j++) {
      double acc = 0;
      for (int i = 0; i < c; i++) acc += pinv[seed * c * p + j * c + i] * w[i];
      t[j] = acc;
      maxAbs = Math.max(maxAbs, Math.abs(acc));
    }
    int e0 = maxAbs == 0 ? -8 : Math.max(-8, Math.min(7, SeedLmCodec.ceilExponent(maxAbs) - offset));
    double best = Double.POSITIVE_INFINITY;
    int bestE = 0;
    int[] bestQ = null;
    int[] q = new int[p];
    for (int eRel = e0; eRel >= (rule == CoefficientRule.BEST ? Math.max(-8, e0 - 1) : e0); eRel--) {
      double scale = Math.pow(2, offset + eRel);
      int total = 1 << (4 * p);
      for (int code = 0; code < total; code++) {
        boolean candidate = true;
        for (int j = 0; j < p; j++) {
          q[j] = ((code >> (4 * (p - 1 - j))) & 15) - 8; // lexicographic order of q
          double x = t[j] / scale;
          if (rule == CoefficientRule.NEAREST) {
            candidate &= q[j] == (int) Math.max(-8, Math.min(7, Math.rint(x)));
          } else {
            double f = Math.floor(x);
            candidate &= q[j] == (int) Math.max(-8, Math.min(7, f)) || q[j] == (int) Math.max(-8, Math.min(7, f + 1));
          }
        }
        if (!candidate) continue;
        double err = 0;
        for (int i = 0; i < c; i++) {
          double y = 0;
          for (int j = 0; j < p; j++) y += u[seed * c * p + i * p + j] * (q[j] * scale);
          double r = w[i] - y;
          err += r * r;
        }
        if (err < best) { // strictly: the first of equal errors (larger e_rel, then smaller q) stays
          best = err;
          bestE = eRel;
          bestQ = q.clone();
        }
      }
    }
    return new SeedChoice(seed, bestE, bestQ, best);
  }

  @Test
  void bothRulesMatchTheBruteForceOnRandomBlocksSeedsAndOffsets() {
    SplittableRandom r = new SplittableRandom(11);
    for (SeedLmParams prm : new SeedLmParams[] {new SeedLmParams(8, 3, 8), new SeedLmParams(6, 2, 6)}) {
      for (CoefficientRule rule : CoefficientRule.values()) {
        SeedLmCodec codec = new SeedLmCodec(prm, rule, 16);
        for (int n = 0; n < 400; n++) {
          double sigma = Math.pow(10, -4 * r.nextDouble());
          double[] w = new double[prm.c()];
          for (int i = 0; i < w.length; i++) w[i] = (float) (sigma * r.nextGaussian() * (r.nextInt(50) == 0 ? 10 : 1));
          float[] wf = new float[w.length];
          for (int i = 0; i < w.length; i++) wf[i] = (float) w[i];
          int offset = SeedLmCodec.groupOffset(wf, 0, wf.length) + r.nextInt(7) - 3;
          int seed = 1 + r.nextInt(prm.numSeeds());
          String msg = prm + " " + rule + " block " + n + " seed " + seed + " offset " + offset;
          assertEquals(bruteForce(codec.basis(), rule, w, seed, offset), codec.choice(w, 0, seed, offset), msg);
        }
      }
    }
  }

  @Test
  void bestNeverLosesToNearestOnTheSameSeed() {
    SplittableRandom r = new SplittableRandom(5);
    SeedLmParams prm = new SeedLmParams(8, 3, 8);
    SeedLmCodec best = new SeedLmCodec(prm, CoefficientRule.BEST, 0);
    SeedLmCodec nearest = new SeedLmCodec(prm, CoefficientRule.NEAREST, 0);
    for (int n = 0; n < 2000; n++) {
      double[] w = new double[8];
      for (int i = 0; i < 8; i++) w[i] = r.nextGaussian();
      int seed = 1 + r.nextInt(prm.numSeeds());
      // nearest's (e0, clamp(rint(t / 2^e))) is one of best's candidates, scored with the same arithmetic
      SeedChoice b = best.choice(w, 0, seed, 0);
      SeedChoice a = nearest.choice(w, 0, seed, 0);
      assertEquals(true, b.err() <= a.err(), "seed " + seed + ": best " + b + ", nearest " + a);
    }
  }

  @Test
  void encodeAndDecodeUseTheGroupOffsets() {
    SeedLmParams prm = new SeedLmParams(8, 3, 8);
    SeedLmCodec codec = new SeedLmCodec(prm, CoefficientRule.BEST, 3);
    SplittableRandom r = new SplittableRandom(8);
    int nb = 7; // groups of 3, 3, 1
    float[] w = new float[nb * 8];
    for (int i = 0; i < w.length; i++) w[i] = (float) (0.002 * r.nextGaussian());
    int[] offsets = codec.groupOffsets(w, 0, nb);
    assertEquals(3, offsets.length);
    byte[] bits = new byte[(int) codec.packedBytes(nb)];
    codec.encode(w, 0, nb, offsets, bits, 0);
    float[] out = new float[w.length];
    codec.decode(bits, 0, nb, offsets, out, 0);
    for (int b = 0; b < nb; b++) {
      double[] wd = new double[8];
      for (int i = 0; i < 8; i++) wd[i] = w[b * 8 + i];
      SeedChoice want = codec.searchRef(wd, 0, offsets[b / 3]);
      SeedChoice got = codec.readBlock(bits, (long) b * prm.bitsPerBlock());
      assertEquals(true, want.sameCode(got), "block " + b);
      float[] one = new float[8];
      codec.decodeBlock(got.seed(), got.exponent(), offsets[b / 3], got.q(), one, 0);
      assertArrayEquals(one, java.util.Arrays.copyOfRange(out, b * 8, b * 8 + 8), "block " + b);
    }
    assertThrows(IllegalArgumentException.class, () -> codec.encode(w, 0, nb, new int[2], bits, 0));
    assertThrows(IllegalArgumentException.class, () -> codec.decode(bits, 0, nb, new int[] {0, 0, 101}, out, 0));
  }
}
