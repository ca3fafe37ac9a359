package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SeedLmCodecTest {

  // ---------------------------------------------------------------------------------------------
  // Exponent and coefficient quantization

  @Test
  void exponentEdgeCases() {
    assertEquals(-8, SeedLmCodec.exponent(0.0));
    assertEquals(-8, SeedLmCodec.exponent(Double.MIN_VALUE));
    assertEquals(-8, SeedLmCodec.exponent(Double.MIN_NORMAL));
    assertEquals(-8, SeedLmCodec.exponent(1e-300));
    assertEquals(-8, SeedLmCodec.exponent(0.029296875)); // 7.5 * 2^-8 exactly
    assertEquals(-7, SeedLmCodec.exponent(Math.nextUp(0.029296875)));
    for (int e = -8; e <= 7; e++) {
      double edge = 7.5 * Math.scalb(1.0, e);
      assertEquals(e, SeedLmCodec.exponent(edge), "at 7.5*2^" + e);
      assertEquals(e, SeedLmCodec.exponent(Math.nextDown(edge)), "below 7.5*2^" + e);
      assertEquals(Math.min(7, e + 1), SeedLmCodec.exponent(Math.nextUp(edge)), "above 7.5*2^" + e);
    }
    // powers of two: 2^m <= 7.5 * 2^(m-2) < 2^m * 2 ... smallest e is m - 2
    for (int m = -20; m <= 20; m++) {
      int expected = Math.max(-8, Math.min(7, m - 2));
      assertEquals(expected, SeedLmCodec.exponent(Math.scalb(1.0, m)), "2^" + m);
    }
    assertEquals(-5, SeedLmCodec.exponent(0.125));
    assertEquals(-2, SeedLmCodec.exponent(1.0));
    assertEquals(0, SeedLmCodec.exponent(7.5));
    assertEquals(1, SeedLmCodec.exponent(7.6));
    assertEquals(-1, SeedLmCodec.exponent(3.75));
    assertEquals(0, SeedLmCodec.exponent(3.76));
    assertEquals(7, SeedLmCodec.exponent(960.0));
    assertEquals(7, SeedLmCodec.exponent(Math.nextUp(960.0)));
    assertEquals(7, SeedLmCodec.exponent(1e300));
    assertEquals(7, SeedLmCodec.exponent(Double.MAX_VALUE));
    assertEquals(7, SeedLmCodec.exponent(Double.POSITIVE_INFINITY));
    assertThrows(IllegalArgumentException.class, () -> SeedLmCodec.exponent(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> SeedLmCodec.exponent(-1.0));
  }

  @Test
  void exponentMatchesSlowDefinition() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (int n = 0; n < 20000; n++) {
      double m = Math.scalb(rnd.nextDouble(1.0, 2.0), rnd.nextInt(-14, 14));
      int slow = 7;
      for (int e = -8; e <= 7; e++) {
        if (m <= 7.5 * Math.pow(2.0, e)) {
          slow = e;
          break;
        }
      }
      assertEquals(slow, SeedLmCodec.exponent(m), "maxAbs " + m);
    }
  }

  @Test
  void quantizeRoundsHalfEvenAndClamps() {
    assertEquals(0, SeedLmCodec.quantize(0.5, 0));
    assertEquals(2, SeedLmCodec.quantize(1.5, 0));
    assertEquals(2, SeedLmCodec.quantize(2.5, 0));
    assertEquals(0, SeedLmCodec.quantize(-0.5, 0));
    assertEquals(-2, SeedLmCodec.quantize(-1.5, 0));
    assertEquals(7, SeedLmCodec.quantize(7.5, 0));
    assertEquals(-8, SeedLmCodec.quantize(-8.5, 0));
    assertEquals(-8, SeedLmCodec.quantize(-100, 0));
    assertEquals(3, SeedLmCodec.quantize(0.75, -2)); // 0.75 / 0.25 = 3
    assertEquals(2, SeedLmCodec.quantize(0.625, -2)); // 2.5 -> 2
    assertEquals(7, SeedLmCodec.quantize(1152.0, 7)); // 1152 / 128 = 9 -> clamp 7
  }

  // ---------------------------------------------------------------------------------------------
  // Exact search against an independent brute force (K = 8)

  /** Independent model of SeedLM for one (C, P, K): own LFSR walk and own least squares. */
  private static final class Brute {
    final int c;
    final int p;
    final int n;
    final double[][][] u; // [seed][i][j]

    Brute(int c, int p, int k, int[] taps) {
      this.c = c;
      this.p = p;
      this.n = (1 << k) - 1;
      u = new double[n + 1][c][p];
      double h = Math.pow(2, k - 1);
      for (int seed = 1; seed <= n; seed++) {
        int s = seed;
        for (int i = 0; i < c; i++) {
          for (int j = 0; j < p; j++) {
            int fb = 0;
            for (int t : taps) {
              fb ^= (s >> t) & 1;
            }
            s = (s >> 1) | (fb << (k - 1));
            u[seed][i][j] = (s - h) / (h - 1);
          }
        }
      }
    }

    /** Least squares by Gaussian elimination (partial pivoting) on the normal equations. */
    double[] solve(int seed, double[] w) {
      double[][] a = new double[p][p + 1];
      for (int r = 0; r < p; r++) {
        for (int col = 0; col < p; col++) {
          for (int i = 0; i < c; i++) {
            a[r][col] += u[seed][i][r] * u[seed][i][col];
          }
        }
        for (int i = 0; i < c; i++) {
          a[r][p] += u[seed][i][r] * w[i];
        }
      }
      for (int col = 0; col < p; col++) {
        int piv = col;
        for (int r = col + 1; r < p; r++) {
          if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) {
            piv = r;
          }
        }
        double[] tmp = a[col];
        a[col] = a[piv];
        a[piv] = tmp;
        for (int r = 0; r < p; r++) {
          if (r != col) {
            double f = a[r][col] / a[col][col];
            for (int cc = col; cc <= p; cc++) {
              a[r][cc] -= f * a[col][cc];
            }
          }
        }
      }
      double[] t = new double[p];
      for (int r = 0; r < p; r++) {
        t[r] = a[r][p] / a[r][r];
      }
      return t;
    }

    int exponent(double m) {
      for (int e = -8; e <= 7; e++) {
        if (m <= 7.5 * Math.pow(2.0, e)) {
          return e;
        }
      }
      return 7;
    }

    /** Returns {e, q_0..q_{P-1}} for seed. */
    int[] code(int seed, double[] w) {
      double[] t = solve(seed, w);
      double m = 0;
      for (double x : t) {
        m = Math.max(m, Math.abs(x));
      }
      int e = exponent(m);
      int[] out = new int[p + 1];
      out[0] = e;
      for (int j = 0; j < p; j++) {
        out[1 + j] = (int) Math.max(-8, Math.min(7, Math.rint(t[j] / Math.pow(2.0, e))));
      }
      return out;
    }

    double err(int seed, double[] w, int[] code) {
      double err = 0;
      for (int i = 0; i < c; i++) {
        double y = 0;
        for (int j = 0; j < p; j++) {
          y += u[seed][i][j] * (code[1 + j] * Math.pow(2.0, code[0]));
        }
        double r = w[i] - y;
        err += r * r;
      }
      return err;
    }
  }

  @Test
  void searchIsExactC8P3K8() {
    checkExactSearch(8, 3, 2500, 101);
  }

  @Test
  void searchIsExactC4P2K8() {
    checkExactSearch(4, 2, 2500, 202);
  }

  private void checkExactSearch(int c, int p, int blocks, long rndSeed) {
    SeedLmParams params = new SeedLmParams(c, p, 8);
    SeedLmCodec codec = new SeedLmCodec(params);
    Brute brute = new Brute(c, p, 8, new int[] {0, 2, 3, 4});
    SplittableRandom rnd = new SplittableRandom(rndSeed);
    int tieBlocks = 0;
    for (int b = 0; b < blocks; b++) {
      double[] w = new double[c];
      int kind = b % 5;
      if (kind == 0) { // Gaussian with a random scale
        double scale = Math.exp(rnd.nextDouble(-5, 3));
        for (int i = 0; i < c; i++) {
          w[i] = rnd.nextGaussian() * scale;
        }
      } else if (kind == 1) { // zero block (every seed ties)
        // all zeros
      } else if (kind == 2) { // tiny block: every seed quantizes to q = 0 and ties at ||w||^2
        for (int i = 0; i < c; i++) {
          w[i] = rnd.nextDouble(-1e-6, 1e-6);
        }
      } else if (kind == 3) { // exactly representable by a random seed
        // q in [-7, 7]: with q = -8 the exponent moves up and t / 2^e lands on exact .5 ties,
        // where the last-ulp differences of two least-squares implementations legitimately differ
        int s = rnd.nextInt(1, brute.n + 1);
        int e = rnd.nextInt(-8, 8);
        int[] q = new int[p];
        for (int j = 0; j < p; j++) {
          q[j] = rnd.nextInt(-7, 8);
        }
        for (int i = 0; i < c; i++) {
          double y = 0;
          for (int j = 0; j < p; j++) {
            y += brute.u[s][i][j] * (q[j] * Math.pow(2.0, e));
          }
          w[i] = y;
        }
      } else { // float-valued uniform weights
        for (int i = 0; i < c; i++) {
          w[i] = (float) rnd.nextDouble(-1, 1);
        }
      }
      double best = Double.POSITIVE_INFINITY;
      int bestSeed = -1;
      int atBest = 0;
      int[] bestCode = null;
      double[] errs = new double[brute.n + 1];
      for (int s = 1; s <= brute.n; s++) {
        int[] code = brute.code(s, w);
        double err = brute.err(s, w, code);
        errs[s] = err;
        if (err < best) {
          best = err;
          bestSeed = s;
          bestCode = code;
          atBest = 1;
        } else if (err == best) {
          atBest++;
        }
      }
      if (atBest > 1) {
        tieBlocks++;
      }
      SeedChoice got = codec.searchRef(w);
      String ctx = "block " + b + " kind " + kind;
      assertEquals(bestSeed, got.seed(), ctx);
      assertEquals(best, got.err(), 0.0, ctx);
      assertEquals(bestCode[0], got.exponent(), ctx);
      for (int j = 0; j < p; j++) {
        assertEquals(bestCode[1 + j], got.q(j), ctx);
      }
      if (b < 40) { // per-seed errors are bit-identical to the independent model
        for (int s = 1; s <= brute.n; s++) {
          assertEquals(errs[s], codec.quantizedError(w, 0, s), 0.0, ctx + " seed " + s);
        }
      }
    }
    assertTrue(tieBlocks >= 2 * blocks / 5, "tie blocks " + tieBlocks);
  }

  @Test
  void zeroBlockIsSeedOne() {
    SeedLmCodec codec = new SeedLmCodec(SeedLmParams.FOUR_BIT);
    SeedChoice c = codec.searchRef(new double[8]);
    assertEquals(new SeedChoice(1, -8, new int[3], 0.0), c);
    byte[] out = new byte[4];
    codec.encode(new float[8], 0, 1, out, 0);
    // seed 1 (16 bits), e = -8 -> 0x8, q = 0
    assertArrayEquals(new byte[] {0x00, 0x01, (byte) 0x80, 0x00}, out);
    float[] dec = new float[8];
    codec.decode(out, 0, 1, dec, 0);
    for (float x : dec) {
      assertEquals(0f, Math.abs(x)); // +0 or -0 (the sign of u * 0 follows the canonical decode)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Bits and canonical decode

  @Test
  void blockBitLayout() {
    SeedLmCodec codec = new SeedLmCodec(SeedLmParams.FOUR_BIT);
    byte[] out = new byte[4];
    codec.writeBlock(out, 0, 0x1234, -3, new int[] {7, -8, 1});
    assertArrayEquals(new byte[] {0x12, 0x34, (byte) 0xD7, (byte) 0x81}, out);
    SeedChoice back = codec.readBlock(out, 0);
    assertEquals(0x1234, back.seed());
    assertEquals(-3, back.exponent());
    assertArrayEquals(new int[] {7, -8, 1}, back.q());
    assertTrue(Double.isNaN(back.err()));

    SeedLmCodec three = new SeedLmCodec(SeedLmParams.THREE_BIT);
    byte[] two = new byte[9];
    three.writeBlock(two, 0, 0xABCD, 7, new int[] {1, 2, 3, 4});
    three.writeBlock(two, 36, 0x0001, -1, new int[] {-1, -2, 0, 5});
    assertArrayEquals(
        new byte[] {(byte) 0xAB, (byte) 0xCD, 0x71, 0x23, 0x40, 0x00, 0x1F, (byte) 0xFE, 0x05},
        two);
    assertEquals(-1, three.readBlock(two, 36).exponent());
    assertArrayEquals(new int[] {-1, -2, 0, 5}, three.readBlock(two, 36).q());
  }

  /** Independent canonical decode: own LFSR walk (K=16 or K=8), float U, float FMA chain. */
  private static float[] canonical(int c, int p, int k, int[] taps, int seed, int e, int[] q) {
    float[] th = new float[p];
    for (int j = 0; j < p; j++) {
      th[j] = (float) (q[j] * Math.pow(2.0, e));
    }
    double h = Math.pow(2, k - 1);
    int s = seed;
    float[] out = new float[c];
    for (int i = 0; i < c; i++) {
      float acc = 0f;
      for (int j = 0; j < p; j++) {
        int fb = 0;
        for (int t : taps) {
          fb ^= (s >> t) & 1;
        }
        s = (s >> 1) | (fb << (k - 1));
        float uf = (float) ((s - h) / (h - 1));
        acc = j == 0 ? uf * th[0] : Math.fma(uf, th[j], acc);
      }
      out[i] = acc;
    }
    return out;
  }

  @Test
  void roundTripK16MatchesCanonicalDecode() {
    SplittableRandom rnd = new SplittableRandom(5);
    for (SeedLmParams params : new SeedLmParams[] {SeedLmParams.FOUR_BIT, SeedLmParams.THREE_BIT}) {
      SeedLmCodec codec = new SeedLmCodec(params);
      int c = params.c();
      int nb = 5;
      float[] w = new float[nb * c];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (rnd.nextGaussian() * 0.02);
      }
      byte[] bytes = new byte[(int) codec.packedBytes(nb)];
      codec.encode(w, 0, nb, bytes, 0);
      float[] dec = new float[nb * c];
      codec.decode(bytes, 0, nb, dec, 0);
      for (int b = 0; b < nb; b++) {
        SeedChoice ch = codec.searchRef(w, b * c);
        SeedChoice back = codec.readBlock(bytes, (long) b * params.bitsPerBlock());
        assertTrue(ch.sameCode(back), ch + " vs " + back);
        float[] expect =
            canonical(c, params.p(), 16, new int[] {0, 1, 3, 12}, ch.seed(), ch.exponent(), ch.q());
        for (int i = 0; i < c; i++) {
          assertEquals(
              Float.floatToRawIntBits(expect[i]),
              Float.floatToRawIntBits(dec[b * c + i]),
              params + " block " + b + " weight " + i);
        }
      }
    }
  }

  @Test
  void roundTripK8ManyBlocks() {
    SeedLmParams params = new SeedLmParams(8, 3, 8);
    SeedLmCodec codec = new SeedLmCodec(params);
    SplittableRandom rnd = new SplittableRandom(9);
    int nb = 301;
    float[] w = new float[nb * 8];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextDouble(-8, 4)));
    }
    byte[] bytes = new byte[(int) codec.packedBytes(nb) + 1];
    codec.encode(w, 0, nb, bytes, 3); // odd bit offset
    float[] dec = new float[nb * 8];
    codec.decode(bytes, 3, nb, dec, 0);
    for (int b = 0; b < nb; b++) {
      SeedChoice back = codec.readBlock(bytes, 3 + (long) b * params.bitsPerBlock());
      float[] expect =
          canonical(8, 3, 8, new int[] {0, 2, 3, 4}, back.seed(), back.exponent(), back.q());
      for (int i = 0; i < 8; i++) {
        assertEquals(Float.floatToRawIntBits(expect[i]), Float.floatToRawIntBits(dec[b * 8 + i]));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Quality on Gaussian blocks (SPEC section 8)

  private static double relativeRms(SeedLmCodec codec, int blocks, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int c = codec.blockSize();
    double sum = 0;
    for (int b = 0; b < blocks; b++) {
      double[] w = new double[c];
      double norm = 0;
      for (int i = 0; i < c; i++) {
        w[i] = rnd.nextGaussian();
        norm += w[i] * w[i];
      }
      sum += codec.searchRef(w).err() / norm;
    }
    return Math.sqrt(sum / blocks);
  }

  @Test
  void gaussianQuality4Bit() {
    SeedLmCodec codec = new SeedLmCodec(SeedLmParams.FOUR_BIT);
    codec.searchRef(new double[] {1, 2, 3, 4, 5, 6, 7, 8}); // warm up
    int blocks = 200;
    long t0 = System.nanoTime();
    double rel = relativeRms(codec, blocks, 1234);
    double ms = (System.nanoTime() - t0) / 1e6 / blocks;
    System.out.printf("seedlm-4bit: relative RMS %.4f, reference search %.2f ms/block%n", rel, ms);
    assertTrue(rel >= 0.10 && rel <= 0.14, "relative RMS " + rel);
  }

  @Test
  void gaussianQuality3Bit() {
    SeedLmCodec codec = new SeedLmCodec(SeedLmParams.THREE_BIT);
    int blocks = 50;
    long t0 = System.nanoTime();
    double rel = relativeRms(codec, blocks, 4321);
    double ms = (System.nanoTime() - t0) / 1e6 / blocks;
    System.out.printf("seedlm-3bit: relative RMS %.4f, reference search %.2f ms/block%n", rel, ms);
    assertTrue(rel >= 0.19 && rel <= 0.26, "relative RMS " + rel);
  }

  // ---------------------------------------------------------------------------------------------
  // Names, params, validation

  @Test
  void namesAndParams() {
    SeedLmCodec four = new SeedLmCodec(SeedLmParams.FOUR_BIT);
    assertEquals("seedlm-4bit", four.name());
    assertEquals(Map.of("C", "8", "P", "3", "K", "16"), four.params());
    assertEquals(32, four.bitsPerBlock());
    assertEquals(4.0, four.bitsPerWeight());
    SeedLmCodec three = new SeedLmCodec(SeedLmParams.THREE_BIT);
    assertEquals("seedlm-3bit", three.name());
    assertEquals(36, three.bitsPerBlock());
    assertEquals(3.0, three.bitsPerWeight());
    assertEquals("seedlm-c4-p2-k8", new SeedLmCodec(new SeedLmParams(4, 2, 8)).name());
    assertEquals(20, new SeedLmParams(4, 2, 8).bitsPerBlock());
    assertEquals(SeedLmParams.FOUR_BIT, SeedLmParams.named("seedlm-4bit"));
  }

  @Test
  void validation() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new SeedLmParams(8, 9, 16));
    assertEquals("Cannot use SeedLM params (C=8, P=9, K=16): P must not exceed C", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new SeedLmParams(8, 3, 25));
    assertTrue(e.getMessage().contains("K must be in [2, 24]"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new SeedLmParams(0, 1, 8));
    assertThrows(IllegalArgumentException.class, () -> new SeedLmParams(8, 0, 8));
    SeedLmCodec codec = new SeedLmCodec(new SeedLmParams(4, 2, 8));
    assertThrows(
        IllegalArgumentException.class,
        () -> codec.encode(new float[] {1, Float.NaN, 0, 0}, 0, 1, new byte[3], 0));
    assertThrows(
        IllegalArgumentException.class, () -> codec.encode(new float[4], 0, 2, new byte[5], 0));
    assertThrows(
        IllegalArgumentException.class, () -> codec.encode(new float[8], 0, 2, new byte[4], 0));
    assertThrows(
        IllegalArgumentException.class, () -> codec.writeBlock(new byte[3], 0, 1, 0, new int[] {8, 0}));
    assertThrows(
        IllegalArgumentException.class, () -> codec.writeBlock(new byte[3], 0, 0, 0, new int[] {0, 0}));
    e = assertThrows(IllegalArgumentException.class, () -> codec.readBlock(new byte[3], 0));
    assertTrue(e.getMessage().contains("seed 0 is not a valid seed"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> codec.quantizedError(new double[4], 0, 256));
  }
}
