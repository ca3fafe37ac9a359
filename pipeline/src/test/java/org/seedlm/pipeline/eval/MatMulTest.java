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
}
