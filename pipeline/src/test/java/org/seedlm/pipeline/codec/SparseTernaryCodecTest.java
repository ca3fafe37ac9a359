package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.BadInputException;

class SparseTernaryCodecTest {

  @Test
  void ternaryGoldenByHand() {
    // mean |x| = 5.1 / 4 = 1.275, cut 0.7 * 1.275 = 0.8925: keep 1, -1, 3; a = 5/3 -> fp16 1.6669921875
    float[] w = {1f, -1f, 0.1f, 3f};
    SparseTernaryCodec c = new SparseTernaryCodec(1, 4, 0.7);
    float a = 1.6669921875f;
    assertArrayEquals(new float[] {a, -a, 0f, a}, c.decode(c.encode(w, 1, 4), 1, 4));
    assertEquals("ternary-g4-t0.7", c.name());
  }

  @Test
  void fiveLevelGoldenByHand() {
    // mean |x| = 7.1 / 4 = 1.775, cut 0.8875: keep 1, 2, -4. a0 = (7/3)/1.5; codes 1, 1, 2;
    // a = (1 + 2 + 8) / (1 + 1 + 4) = 11/6, stable; fp16(11/6) = 1.8330078125; codes 1, 1, 2
    float[] w = {0.1f, 1f, 2f, -4f};
    SparseTernaryCodec c = new SparseTernaryCodec(2, 4, 0.5);
    float a = 1.8330078125f;
    assertArrayEquals(new float[] {0f, a, a, -2 * a}, c.decode(c.encode(w, 2, 2), 2, 2));
  }

  @Test
  void sizeIsScalesPlusCodedStreamAndSparsityFollowsThreshold() {
    SplittableRandom rnd = new SplittableRandom(11);
    int rows = 64;
    int cols = 300; // 19,200 weights: 300 groups of 64
    float[] w = new float[rows * cols];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) rnd.nextGaussian();
    }
    double previousZeros = -1;
    for (double t : new double[] {0, 0.7, 2.0}) {
      SparseTernaryCodec c = new SparseTernaryCodec(1, 64, t);
      byte[] enc = c.encode(w, rows, cols);
      float[] d = c.decode(enc, rows, cols);
      int[] symbols = new int[w.length];
      int zeros = 0;
      for (int i = 0; i < w.length; i++) {
        symbols[i] = d[i] == 0 ? 1 : d[i] > 0 ? 2 : 0;
        zeros += d[i] == 0 ? 1 : 0;
        if (d[i] != 0) {
          assertEquals(Math.signum(w[i]), Math.signum(d[i]), "sign of weight " + i);
        }
      }
      // the encoded tensor is exactly: 300 fp16 scales, then the range-coded stream of the codes
      assertEquals(2 * 300 + RangeCoder.encode(symbols, 3).length, enc.length, "t=" + t);
      assertTrue(zeros > previousZeros, "zeros must grow with t: " + zeros + " at t=" + t);
      previousZeros = zeros;
    }
    // Gaussian weights at t = 2.0: |x| <= 2 * 0.798 sigma, about 89 % zeros; under a bit per weight
    double bpw = TensorCodec.bitsPerWeight(new SparseTernaryCodec(1, 64, 2.0).encode(w, rows, cols), rows, cols);
    assertTrue(bpw < 1.0 && previousZeros / w.length > 0.85, "bpw " + bpw + ", zeros " + previousZeros);
  }

  @Test
  void oddShapesRoundTripStably() {
    SplittableRandom rnd = new SplittableRandom(5);
    for (int n : new int[] {1, 7, 15, 17, 33, 65}) {
      float[] w = new float[n];
      for (int i = 0; i < n; i++) {
        w[i] = (float) rnd.nextGaussian();
      }
      for (int levels = 1; levels <= 2; levels++) {
        SparseTernaryCodec c = new SparseTernaryCodec(levels, 16, 0.7);
        float[] d = c.decode(c.encode(w, 1, n), 1, n);
        // decoding the decoded weights again gives them back: they are on the codec's grid
        assertArrayEquals(d, c.decode(c.encode(d, 1, n), 1, n), "n=" + n + " levels=" + levels);
      }
    }
    float[] zeros = new float[10];
    SparseTernaryCodec c = new SparseTernaryCodec(1, 4, 0.7);
    assertArrayEquals(zeros, c.decode(c.encode(zeros, 2, 5), 2, 5));
  }

  @Test
  void namesAndBadInput() {
    assertEquals("ternary5-g64-t0.5", TensorCodecs.parse("ternary5-g64-t0.50").name());
    assertThrows(BadInputException.class, () -> TensorCodecs.parse("ternary-g0-t1"));
    assertThrows(BadInputException.class, () -> TensorCodecs.parse("ternary-g64"));
  }
}
