package org.seedlm.pipeline.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class MatMulTest {
  @Test
  void matchesScalarReferenceIncludingRemainders() {
    Random r = new Random(7);
    for (int[] dims : new int[][] {{1, 8, 3}, {5, 37, 9}, {7, 768, 130}, {4, 64, 4}}) {
      int rows = dims[0], in = dims[1], out = dims[2];
      float[] x = new float[rows * in];
      float[] w = new float[out * in];
      float[] b = new float[out];
      for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
      for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
      for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
      for (boolean t2 : new boolean[] {true, false}) {
        boolean old = MatMul.tile2;
        MatMul.tile2 = t2;
        float[] y = MatMul.linear(x, rows, in, w, out, b);
        MatMul.tile2 = old;
        for (int i = 0; i < rows; i++) {
          for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int k = 0; k < in; k++) s += (double) x[i * in + k] * w[o * in + k];
            assertEquals(s, y[i * out + o], 1e-3 * Math.sqrt(in), rows + "x" + in + "x" + out);
          }
        }
      }
    }
  }

  /** Not a test of correctness: prints GFLOP/s of both tilings (run with -Dtest=MatMulTest). */
  @Test
  void speed() {
    int rows = 32, in = 768, out = 3072;
    float[] x = new float[rows * in];
    float[] w = new float[out * in];
    java.util.Arrays.fill(x, 0.5f);
    java.util.Arrays.fill(w, 0.25f);
    for (int rep = 0; rep < 3; rep++) {
      for (boolean t2 : new boolean[] {true, false}) {
        MatMul.tile2 = t2;
        long t0 = System.nanoTime();
        for (int k = 0; k < 20; k++) {
          MatMul.linear(x, rows, in, w, out, null);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("tile %s: %.2f GFLOP/s%n", t2 ? "2x4" : "4x4", 20.0 * 2 * rows * in * out / s / 1e9);
      }
    }
    MatMul.tile2 = !Boolean.getBoolean("seedlm.eval.tile4");
  }
}
