package org.seedlm.pipeline.eval;

import java.util.Locale;
import java.util.Random;

/**
 * GFLOP/s of the evaluation matmul ({@link MatMul#linear}) with each register tiling, on one BERT-base MLP
 * shape (32 tokens x 768 -> 3072). Every timed product is compared with the other tiling's (they must agree to
 * float rounding), and the count of compared outputs is printed. Run with {@code seedlm bench}, or
 * {@code java --add-modules jdk.incubator.vector -cp pipeline/target/classes:... org.seedlm.pipeline.eval.MatMulBenchmark}.
 */
public final class MatMulBenchmark {
  private MatMulBenchmark() {}

  public static void main(String[] args) {
    int rows = 32;
    int in = 768;
    int out = 3072;
    int reps = 20;
    Random r = new Random(3);
    float[] x = new float[rows * in];
    float[] w = new float[out * in];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) r.nextGaussian() * 0.02f;
    }
    boolean saved = MatMul.tile2;
    float[][] last = new float[2][];
    double[] best = new double[2];
    try {
      for (int round = 0; round < 3; round++) {
        for (int t = 0; t < 2; t++) {
          MatMul.tile2 = t == 0;
          long t0 = System.nanoTime();
          for (int k = 0; k < reps; k++) {
            last[t] = MatMul.linear(x, rows, in, w, out, null);
          }
          double s = (System.nanoTime() - t0) / 1e9;
          best[t] = Math.max(best[t], (double) reps * 2 * rows * in * out / s / 1e9);
        }
      }
    } finally {
      MatMul.tile2 = saved;
    }
    double maxDiff = 0;
    for (int i = 0; i < last[0].length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(last[0][i] - last[1][i]));
    }
    if (maxDiff > 1e-3) {
      throw new IllegalStateException("the two tilings disagree by " + maxDiff);
    }
    System.out.printf(Locale.ROOT, "eval matmul %dx%d -> %d, best of 3 x %d: tile 2x4 %.2f GFLOP/s, tile 4x4 %.2f "
        + "GFLOP/s (4x4 / 2x4 = %.2f); both tilings agree on all %,d outputs (max |diff| %.2g); default: %s%n",
        rows, in, out, reps, best[0], best[1], best[1] / best[0], last[0].length, maxDiff,
        saved ? "2x4" : "4x4 (-Dseedlm.eval.tile4=true)");
  }
}
