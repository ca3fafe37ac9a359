package org.seedlm.pipeline.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.eval.Bf16Linear;
import org.seedlm.pipeline.eval.MatMul;
import org.seedlm.pipeline.eval.llama.PackedInferenceBenchmark;

/**
 * The fused decode x matmul kernel against decode-then-multiply (bit for bit) and against its scalar twin
 * (within the float32 dot-product bound), on shapes where blocks straddle rows, the last block is padded,
 * rows are shorter than a block, and 3-bit blocks straddle bytes; on one thread and on all cores.
 */
class SeedLmLinearTest {
  static final double U = 0x1p-24;

  static byte[] randomPacked(SeedLmParams params, long blocks, long seed) {
    return PackedInferenceBenchmark.randomCodes(params, blocks, seed);
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
  void matrixVectorStraightFromThePackedBitsEqualsDecodeThenMultiplyWithAndWithoutExponentOffsets()
      throws Exception {
    SeedLmParams params = SeedLmParams.FOUR_BIT;
    SeedLmDecoder decoder = SeedLmDecoder.of(params);
    assertTrue(!decoder.vectorized() || decoder.canDot(2048) == (MatMul.species().length() >= 8),
        "the fused dot product covers Llama rows wherever vectors of 8 lanes are allowed");
    assertTrue(!decoder.canDot(96) && !decoder.canDot(176), "rows not of whole steps of 16 blocks are decoded");
    // fused where vectors allow: rows of 16 to 704 blocks (whole steps of 16 blocks); 96 and 176: decoded
    int[][] shapes = {{48, 2048}, {16, 128}, {5, 384}, {3, 5632}, {16, 96}, {33, 176}};
    int[] groups = {0, 5, 64, 1};
    ForkJoinPool one = new ForkJoinPool(1);
    int checked = 0;
    for (int[] shape : shapes) {
      int out = shape[0];
      int in = shape[1];
      int blocks = out * in / params.c();
      for (int g : groups) {
        byte[] packed = randomPacked(params, blocks, 17L * in + g);
        Random r = new Random(g + 1000L * out);
        int[] offsets = new int[g == 0 ? 0 : (blocks + g - 1) / g];
        for (int i = 0; i < offsets.length; i++) { // G = 1: the extremes of the range too
          offsets[i] = g == 1 && i % 3 != 0 ? (i % 3 == 1 ? SeedLmCodec.MAX_OFFSET : SeedLmCodec.MIN_OFFSET)
              : r.nextInt(21) - 10;
        }
        float[] bias = g % 2 == 0 ? random(out, g) : null;
        SeedLmLinear fused = new SeedLmLinear(params, packed, offsets, g, out, in, bias);
        float[] w = new float[out * in];
        decoder.decodeRef(packed, 0, blocks, offsets, g, w, 0);
        float[] x = random(in, out + 7L * g);
        float[] expected = MatMul.linear(x, 1, in, w, out, bias);
        float[] y = fused.apply(x, 1);
        float[] y1 = one.submit(() -> fused.apply(x, 1)).get();
        for (int o = 0; o < out; o++) {
          String where = "[" + out + ", " + in + "] G=" + g + " element " + o;
          assertEquals(Float.floatToRawIntBits(expected[o]), Float.floatToRawIntBits(y[o]), where);
          assertEquals(Float.floatToRawIntBits(expected[o]), Float.floatToRawIntBits(y1[o]), where + " (1 thread)");
          checked++;
        }
      }
    }
    one.shutdown();
    assertEquals(4 * (48 + 16 + 5 + 3 + 16 + 33), checked);
    byte[] zero = randomPacked(params, 64, 5);
    zero[4 * 37] = 0; // block 37: seed 0
    zero[4 * 37 + 1] = 0;
    SeedLmLinear bad = new SeedLmLinear(params, zero, 4, 128, null);
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> bad.apply(random(128, 1), 1));
    assertTrue(e.getMessage().contains("block 37"), e.getMessage());
  }

  @Test
  void bf16LinearIsMatMulOnTheWidenedWeightsAndRoundsToNearestEven() {
    // hand-picked roundings (bits of float32 -> bfloat16): exact, below half, half to even (down, up), above half,
    // NaN stays NaN, the largest float rounds to infinity, a subnormal
    int[][] cases = {{0x3F800000, 0x3F80}, {0x3F807FFF, 0x3F80}, {0x3F808000, 0x3F80}, {0x3F818000, 0x3F82},
        {0x3F808001, 0x3F81}, {0x7FC00001, 0x7FC0}, {0x7F7FFFFF, 0x7F80}, {0x00018000, 0x0002}, {0xBF808001, 0xBF81}};
    for (int[] k : cases) {
      assertEquals(k[1], Bf16Linear.toBf16(Float.intBitsToFloat(k[0])) & 0xFFFF, Integer.toHexString(k[0]));
    }
    int out = 130;
    int in = 257;
    float[] f = random(out * in, 3);
    short[] b = new short[f.length];
    float[] widened = new float[f.length];
    for (int i = 0; i < f.length; i++) {
      b[i] = Bf16Linear.toBf16(f[i]);
      widened[i] = Bf16Linear.toFloat(b[i]);
    }
    float[] bias = random(out, 4);
    Bf16Linear l = new Bf16Linear(b, out, in, bias);
    for (int rows : new int[] {1, 5}) {
      float[] x = random(rows * in, 9 + rows);
      float[] expected = MatMul.linear(x, rows, in, widened, out, bias);
      float[] y = l.apply(x, rows);
      for (int i = 0; i < y.length; i++) {
        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(y[i]), "element " + i);
      }
    }
    assertEquals(2L * out * in + 4L * out, l.residentBytes());
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
