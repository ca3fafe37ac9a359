package org.seedlm.pipeline.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.eval.MatMul;

/**
 * The fused decode x matmul kernel against decode-then-multiply (bit for bit) and against its scalar twin
 * (within the float32 dot-product bound), on shapes where blocks straddle rows, the last block is padded,
 * rows are shorter than a block, and 3-bit blocks straddle bytes; on one thread and on all cores.
 */
class SeedLmLinearTest {
  static final double U = 0x1p-24;

  /** Valid random codes: seeds in [1, 2^K - 1], every e and q. */
  static byte[] randomPacked(SeedLmParams params, long blocks, long seed) {
    SeedLmCodec codec = new SeedLmCodec(params);
    Random r = new Random(seed);
    byte[] packed = new byte[Math.toIntExact((blocks * params.bitsPerBlock() + 7) / 8)];
    int[] q = new int[params.p()];
    for (long b = 0; b < blocks; b++) {
      for (int j = 0; j < q.length; j++) {
        q[j] = r.nextInt(16) - 8;
      }
      // exponents of trained weights are small: mostly e in [-8, -3], some larger
      int e = r.nextInt(10) == 0 ? r.nextInt(16) - 8 : -8 + r.nextInt(6);
      codec.writeBlock(packed, b * params.bitsPerBlock(), 1 + r.nextInt((1 << params.k()) - 1), e, q);
    }
    return packed;
  }

  static float[] random(int n, long seed) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  @Test
  void fusedEqualsDecodeThenMultiplyAndTheScalarTwinWithinTheBound() throws Exception {
    SeedLmParams[] configs = {SeedLmParams.FOUR_BIT, SeedLmParams.THREE_BIT};
    int[][] shapes = {{37, 50}, {5, 7}, {64, 96}, {3, 1}, {130, 257}, {1024, 64}};
    int[] rowCounts = {1, 3, 17};
    ForkJoinPool one = new ForkJoinPool(1);
    int checked = 0;
    for (SeedLmParams params : configs) {
      for (int[] shape : shapes) {
        int out = shape[0];
        int in = shape[1];
        long blocks = ((long) out * in + params.c() - 1) / params.c();
        byte[] packed = randomPacked(params, blocks, 31L * out + in);
        float[] bias = out % 2 == 0 ? random(out, 7) : null;
        SeedLmLinear fused = new SeedLmLinear(params, packed, out, in, bias);
        float[] all = new float[Math.toIntExact(blocks * params.c())];
        SeedLmDecoder.of(params).decodeRef(packed, 0, Math.toIntExact(blocks), all, 0);
        float[] w = java.util.Arrays.copyOf(all, out * in); // decode first (padding dropped)
        for (int rows : rowCounts) {
          float[] x = random(rows * in, rows + 1000L * in);
          float[] expected = MatMul.linear(x, rows, in, w, out, bias);
          float[] y = fused.apply(x, rows);
          float[] y1 = one.submit(() -> fused.apply(x, rows)).get();
          float[] ref = new float[rows * out];
          fused.applyRef(x, rows, ref);
          for (int i = 0; i < y.length; i++) {
            String where = params + " [" + out + ", " + in + "] rows " + rows + " element " + i;
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(y[i]), where);
            assertEquals(Float.floatToRawIntBits(y[i]), Float.floatToRawIntBits(y1[i]), where + " (1 thread)");
            int r = i / out;
            int o = i % out;
            double mag = 0;
            for (int k = 0; k < in; k++) {
              mag += Math.abs((double) x[r * in + k] * w[o * in + k]);
            }
            double gamma = in * U / (1 - in * U);
            double bound = gamma * mag + Math.ulp(Math.abs(ref[i])) + (bias == null ? 0 : Math.ulp(Math.abs(y[i])));
            assertTrue(Math.abs((double) y[i] - ref[i]) <= bound, where + ": " + y[i] + " vs twin " + ref[i]
                + ", bound " + bound);
            checked++;
          }
        }
      }
    }
    one.shutdown();
    assertTrue(checked > 10_000, "elements checked: " + checked);
  }

  @Test
  void residentBytesAreThePackedBytes() {
    SeedLmParams p = SeedLmParams.FOUR_BIT;
    int out = 64;
    int in = 128;
    byte[] packed = randomPacked(p, out * in / p.c(), 1);
    SeedLmLinear l = new SeedLmLinear(p, packed, out, in, null);
    assertEquals(out * in / 2, l.residentBytes()); // 4 bits per weight: 32 bits per 8 weights
  }
}
