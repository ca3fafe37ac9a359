package org.seedlm.pipeline.decode;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.eval.MatMul;

/**
 * Where the cycles of the fused matrix-vector kernel ({@link SeedLmDecoder#dot}) go, on one thread and one
 * Llama-sized SeedLM 4-bit matrix of valid random codes: the whole kernel against probes that each do one part
 * of its per-block work over the same codes, and float32 {@link MatMul} on the decoded matrix.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp ... org.seedlm.pipeline.decode.DotBenchmark [out in [reps]]
 * </pre>
 *
 * Defaults: {@code 5632 2048 20} (TinyLlama's gate/up projection). Probes over the same codes:
 *
 * <ul>
 *   <li>{@code pass 1 (unpack)}: {@link SeedLmDecoder#unpackDot} over every block, 16 at a time: the words read,
 *       seeds and coefficients in integer vectors, the colStart read (random in its 256 KiB table).
 *   <li>{@code table loads}: the colStart read and the three 8-float loads of U(s) columns from the wide cycle
 *       table (random in 437 KiB), summed lane-wise; no coefficients, no x.
 *   <li>{@code old kernel (scalar unpack)}: the previous kernel's per-block work (fields extracted one block at a
 *       time, three table lookups of {@code q 2^e}, a {@code colDelta} read per column), summed as scalars.
 * </ul>
 *
 * Each figure is the best of {@code reps} passes over the matrix, printed as weights per second and
 * nanoseconds per block; {@code exact} says whether the fused kernel equals MatMul on the decoded matrix on
 * every output.
 */
public final class DotBenchmark {
  private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;
  private static final VarHandle WORD_BE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
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
        () -> sink += pass1(dec, packed, blocks),
        () -> sink += tableLoads(dec, packed, blocks),
        () -> sink += scalarUnpack(dec, packed, blocks),
    };
    String[] names = {"float32 MatMul", "fused dot (SeedLmLinear)", "pass 1 (unpack)", "table loads",
        "old kernel (scalar unpack)"};
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

  private static float pass1(SeedLmDecoder dec, byte[] packed, int blocks) {
    SeedLmDecoder.DotScratch s = new SeedLmDecoder.DotScratch();
    int[] offset = new int[SeedLmDecoder.DOT_BLOCKS];
    float sum = 0;
    for (int b = 0; b + SeedLmDecoder.DOT_BLOCKS <= blocks; b += SeedLmDecoder.DOT_BLOCKS) {
      dec.unpackDot(packed, 4 * b, b, offset, 0, s.col, s.th);
      sum += s.th[b & 15] + s.col[b & 15];
    }
    return sum;
  }

  private static float tableLoads(SeedLmDecoder dec, byte[] packed, int blocks) {
    int[] colStart = dec.columnStarts();
    float[] wide = dec.wideColumns();
    int colLen = dec.cycleColumns().length / 3;
    FloatVector acc = FloatVector.zero(S8);
    for (int b = 0; b < blocks; b++) {
      int c0 = colStart[word(packed, b) >>> 16] >>> 4;
      acc = acc.add(FloatVector.fromArray(S8, wide, c0)).add(FloatVector.fromArray(S8, wide, c0 + colLen))
          .add(FloatVector.fromArray(S8, wide, c0 + 2 * colLen));
    }
    return acc.reduceLanes(VectorOperators.ADD);
  }

  private static float scalarUnpack(SeedLmDecoder dec, byte[] packed, int blocks) {
    int[] colStart = dec.columnStarts();
    int[] delta = dec.columnDeltas();
    float s0 = 0;
    float s1 = 0;
    float s2 = 0;
    int cols = 0;
    for (int b = 0; b < blocks; b++) {
      int v = word(packed, b);
      int eb = (v >>> 8) & 0xF0;
      s0 += SeedLmDecoder.coefficient((v >>> 8) & 0xFF);
      s1 += SeedLmDecoder.coefficient(eb | (v >>> 4) & 15);
      s2 += SeedLmDecoder.coefficient(eb | v & 15);
      int cs = colStart[v >>> 16];
      int d = (cs & 15) * 3;
      cols += (cs >>> 4) + delta[d + 1] + delta[d + 2];
    }
    return s0 + s1 + s2 + cols;
  }

  private static int word(byte[] packed, int b) {
    return (int) WORD_BE.get(packed, 4 * b);
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
