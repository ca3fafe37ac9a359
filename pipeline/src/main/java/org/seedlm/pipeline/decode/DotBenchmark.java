package org.seedlm.pipeline.decode;

import java.util.Locale;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.eval.MatMul;

/**
 * Where the cycles of the fused matrix-vector kernel ({@link SeedLmDecoder#dotRows}) go, on one thread and one
 * Llama-sized SeedLM 4-bit matrix of valid random codes: the whole kernel (through {@link SeedLmLinear}, four
 * rows a call) against its pass 1 alone over the same codes, and float32 {@link MatMul} on the decoded matrix.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp ... org.seedlm.pipeline.decode.DotBenchmark [out in [reps]]
 * </pre>
 *
 * Defaults: {@code 5632 2048 20} (TinyLlama's gate/up projection). {@code pass 1 (unpack)} is {@link
 * SeedLmDecoder#pass1} over every block in the kernel's order (up to 64 blocks of each of 4 rows at a time): the
 * words read, seeds and coefficients in integer vectors, the cycle-position read (random in its 128 KiB table),
 * the column starts computed. Each figure is the best of {@code reps} passes over the matrix, printed as weights
 * per second and nanoseconds per block; {@code exact} says whether the fused kernel equals MatMul on the decoded
 * matrix on every output.
 */
public final class DotBenchmark {
  static volatile float sink;

  private DotBenchmark() {}

  public static void main(String[] args) {
    int out = args.length > 0 ? Integer.parseInt(args[0]) : 5632;
    int in = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
    int reps = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    SeedLmParams params = SeedLmParams.FOUR_BIT;
    SeedLmDecoder dec = SeedLmDecoder.of(params);
    if (!dec.canDot(in)) {
      throw new IllegalArgumentException("Cannot run dot benchmark: the fused kernel does not take rows of " + in
          + " weights here (needs 8-lane vectors and a multiple of MatMul's lanes)");
    }
    int blocks = out * in / params.c();
    byte[] packed = DecodeBenchmark.randomCodes(params, blocks, 1);
    float[] w = dec.decodeTensor(packed, blocks, (long) out * in);
    float[] x = new float[in];
    for (int i = 0; i < in; i++) {
      x[i] = (float) Math.cos(0.37 * i);
    }
    float[] yF32 = new float[out];
    float[] yDot = new float[out];
    SeedLmLinear linear = new SeedLmLinear(params, packed, out, in, null);
    System.out.printf(Locale.ROOT, "dot benchmark: [%d, %d] SeedLM 4-bit, %d blocks, %d packed bytes, 1 thread, "
        + "MatMul lanes %d, best of %d%n", out, in, blocks, packed.length, MatMul.species().length(), reps);
    Runnable[] probes = {
        () -> MatMul.rows(x, 1, in, w, 0, 0, out, null, yF32, out),
        () -> fused(linear, x, yDot, out),
        () -> sink += pass1(dec, packed, out, in / 8),
    };
    String[] names = {"float32 MatMul", "fused dot (SeedLmLinear)", "pass 1 (unpack)"};
    for (int i = 0; i < probes.length; i++) { // compile everything before timing anything
      for (int r = 0; r < 5; r++) {
        probes[i].run();
      }
    }
    for (int i = 0; i < probes.length; i++) {
      double t = best(reps, probes[i]);
      System.out.printf(Locale.ROOT, "%-26s %.3g weights/s, %.2f ns/block%n", names[i], (double) out * in / t,
          t * 1e9 / blocks);
    }
    boolean exact = true;
    for (int o = 0; o < out; o++) {
      exact &= Float.floatToRawIntBits(yF32[o]) == Float.floatToRawIntBits(yDot[o]);
    }
    System.out.println("exact (fused dot == MatMul on the decoded matrix, every output): " + exact);
  }

  /** The fused path on one thread: SeedLmLinear's matrix-vector kernel over all output rows. */
  private static void fused(SeedLmLinear linear, float[] x, float[] y, int out) {
    if (!linear.direct(x, 1, y, 0, out)) {
      throw new IllegalStateException("fused matrix-vector path is off (-Dseedlm.linear.decodeThenMultiply?)");
    }
  }

  /** Pass 1 of the kernel alone ({@link SeedLmDecoder#pass1}), over the blocks in the kernel's order. */
  private static float pass1(SeedLmDecoder dec, byte[] packed, int out, int nb) {
    int rows = SeedLmDecoder.DOT_ROWS;
    SeedLmDecoder.DotScratch s = new SeedLmDecoder.DotScratch();
    int[] offset = new int[rows * nb];
    float sum = 0;
    for (int o = 0; o + rows <= out; o += rows) {
      for (int b = 0; b < nb; b += SeedLmDecoder.STEP) {
        dec.pass1(packed, (long) o * nb, nb, rows, b, Math.min(SeedLmDecoder.STEP, nb - b), offset, s.col, s.th);
        sum += s.th[b & 15] + s.col[b & 15];
      }
    }
    return sum;
  }

  private static double best(int reps, Runnable r) {
    double best = Double.POSITIVE_INFINITY;
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      r.run();
      best = Math.min(best, (System.nanoTime() - t0) / 1e9);
    }
    return best;
  }
}
