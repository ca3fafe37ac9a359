package org.seedlm.pipeline.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * The reference twin against the canonical codec, and every fast path (vector widths, scalar)
 * against the reference twin, bit for bit, on random codes.
 */
class SeedLmDecoderTest {

  static final SeedLmParams SMALL_K = new SeedLmParams(8, 3, 8);
  static final SeedLmParams ODD_C = new SeedLmParams(7, 2, 6); // P = 2: scalar path
  static final SeedLmParams WIDE = new SeedLmParams(16, 12, 10); // 62 bits: bit-reader fallback

  /** Random valid codes: every seed appears when {@code allSeeds}, e and q uniform in [-8, 7]. */
  static byte[] randomCodes(SeedLmParams params, int blocks, long rngSeed, boolean allSeeds) {
    SeedLmCodec codec = new SeedLmCodec(params);
    Random r = new Random(rngSeed);
    byte[] packed = new byte[(int) codec.packedBytes(blocks)];
    int n = params.numSeeds();
    for (int b = 0; b < blocks; b++) {
      int seed = allSeeds ? 1 + b % n : 1 + r.nextInt(n);
      int[] q = new int[params.p()];
      for (int j = 0; j < q.length; j++) {
        q[j] = r.nextInt(16) - 8;
      }
      codec.writeBlock(packed, (long) b * params.bitsPerBlock(), seed, r.nextInt(16) - 8, q);
    }
    return packed;
  }

  static List<SeedLmDecoder> fastDecoders(SeedLmParams params) {
    List<SeedLmDecoder> out = new ArrayList<>();
    for (int bits : new int[] {0, 128, 256, 512}) {
      out.add(new SeedLmDecoder(params, bits));
    }
    return out;
  }

  static void assertSameBits(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      int a = Float.floatToRawIntBits(expected[i]);
      int b = Float.floatToRawIntBits(actual[i]);
      if (a != b) {
        throw new AssertionError(String.format("%s: value %d differs: %s (0x%08x) vs %s (0x%08x)", what, i,
            expected[i], a, actual[i], b));
      }
    }
  }

  void checkAgainstCanonicalAndFast(SeedLmParams params, int blocks, boolean allSeeds) {
    SeedLmCodec codec = new SeedLmCodec(params);
    byte[] packed = randomCodes(params, blocks, 42 + blocks, allSeeds);
    int c = params.c();
    float[] canonical = new float[blocks * c];
    codec.decode(packed, 0, blocks, canonical, 0);
    float[] ref = new float[blocks * c];
    SeedLmDecoder refDec = new SeedLmDecoder(params, 0);
    refDec.decodeRef(packed, 0, blocks, ref, 0);
    assertSameBits(canonical, ref, params + " reference twin vs SeedLmCodec.decode");
    for (SeedLmDecoder d : fastDecoders(params)) {
      float[] fast = new float[blocks * c];
      d.decode(packed, 0, blocks, fast, 0);
      assertSameBits(ref, fast, d + " all blocks");
      // odd slices at odd offsets, including the last (tail) block of the string
      int[][] slices = {{0, 1}, {1, 3}, {3, 5}, {blocks - 1, 1}, {blocks - 7, 7}, {blocks / 2 + 1, blocks / 2 - 1}};
      for (int[] sl : slices) {
        int first = sl[0];
        int n = sl[1];
        int off = 5;
        float[] got = new float[off + n * c + 3];
        Arrays.fill(got, Float.NaN);
        d.decode(packed, first, n, got, off);
        assertSameBits(Arrays.copyOfRange(ref, first * c, (first + n) * c), Arrays.copyOfRange(got, off, off + n * c),
            d + " slice " + first + "+" + n);
        assertTrue(Float.isNaN(got[off - 1]) && Float.isNaN(got[off + n * c]), "writes only its slice");
      }
    }
  }

  @Test
  void fourBitAllSeeds() {
    checkAgainstCanonicalAndFast(SeedLmParams.FOUR_BIT, 65535 + 17, true);
  }

  @Test
  void threeBitRandomCodesStraddlingBytes() {
    checkAgainstCanonicalAndFast(SeedLmParams.THREE_BIT, 20001, false); // odd count: last block ends mid-byte
  }

  @Test
  void smallKAllSeedsAndOddConfigs() {
    checkAgainstCanonicalAndFast(SMALL_K, 255 * 9 + 1, true);
    checkAgainstCanonicalAndFast(ODD_C, 63 * 5 + 3, true);
    checkAgainstCanonicalAndFast(WIDE, 1023 + 2, true);
    checkAgainstCanonicalAndFast(new SeedLmParams(12, 4, 12), 4095 + 11, true);
    checkAgainstCanonicalAndFast(new SeedLmParams(16, 4, 9), 511 + 3, true); // two 8-lane vectors per block
    checkAgainstCanonicalAndFast(new SeedLmParams(14, 3, 9), 511 + 3, true); // overlapping 8-lane chunks
    checkAgainstCanonicalAndFast(new SeedLmParams(6, 4, 7), 127 + 3, true); // overlapping 4-lane chunks
  }

  /**
   * Format version 2: random offsets in [-100, 100] per group of G blocks. The canonical codec decodes the
   * whole tensor with them; the reference twin and every fast path, on the whole tensor and on slices
   * that start inside a group, give the same bits.
   */
  @Test
  void withExponentOffsetsEveryPathIsTheCanonicalDecode() {
    for (SeedLmParams params : new SeedLmParams[] {SeedLmParams.FOUR_BIT, SeedLmParams.THREE_BIT, SMALL_K, ODD_C, WIDE}) {
      int g = 7;
      int blocks = 7 * 40 + 3;
      byte[] packed = randomCodes(params, blocks, 99, false);
      Random r = new Random(5);
      int[] offsets = new int[(blocks + g - 1) / g];
      for (int i = 0; i < offsets.length; i++) {
        offsets[i] = i == 0 ? -100 : i == 1 ? 100 : r.nextInt(201) - 100;
      }
      SeedLmCodec codec = new SeedLmCodec(params, org.seedlm.pipeline.codec.CoefficientRule.BEST, g);
      float[] want = new float[blocks * params.c()];
      codec.decode(packed, 0, blocks, offsets, want, 0);
      float[] ref = new float[want.length];
      new SeedLmDecoder(params, 0).decodeRef(packed, 0, blocks, offsets, g, ref, 0);
      assertSameBits(want, ref, params + " reference twin");
      for (SeedLmDecoder d : fastDecoders(params)) {
        float[] got = new float[want.length];
        d.decode(packed, 0, blocks, offsets, g, got, 0);
        assertSameBits(want, got, params + " " + d);
        float[] slice = new float[100 * params.c()];
        d.decode(packed, 5, 100, offsets, g, slice, 0); // starts inside group 0
        assertSameBits(Arrays.copyOfRange(want, 5 * params.c(), 105 * params.c()), slice, params + " slice " + d);
      }
      // version 1 is every offset 0
      float[] v1 = new float[want.length];
      new SeedLmDecoder(params, 256).decode(packed, 0, blocks, new int[offsets.length], g, v1, 0);
      float[] none = new float[want.length];
      new SeedLmDecoder(params, 256).decode(packed, 0, blocks, none, 0);
      assertSameBits(none, v1, params + " zero offsets");
      assertThrows(IllegalArgumentException.class,
          () -> new SeedLmDecoder(params, 0).decode(packed, 0, blocks, new int[3], g, new float[want.length], 0));
    }
  }

  @Test
  void decodeTensorDropsThePaddingOfTheTailBlock() {
    SeedLmParams params = SeedLmParams.THREE_BIT;
    int numel = 35; // 3 blocks, the last with 11 padding weights
    byte[] packed = randomCodes(params, 3, 7, false);
    assertEquals(14, packed.length);
    float[] ref = new float[36];
    new SeedLmDecoder(params, 0).decodeRef(packed, 0, 3, ref, 0);
    for (SeedLmDecoder d : fastDecoders(params)) {
      assertSameBits(Arrays.copyOf(ref, numel), d.decodeTensor(packed, 3, numel), d.toString());
    }
    assertThrows(IllegalArgumentException.class, () -> SeedLmDecoder.of(params).decodeTensor(packed, 4, numel));
  }

  @Test
  void seedZeroAndBadRangesAreRefusedNamingTheBlock() {
    SeedLmParams params = SeedLmParams.FOUR_BIT;
    byte[] packed = randomCodes(params, 10, 3, false);
    packed[4 * 6] = 0;
    packed[4 * 6 + 1] = 0; // block 6: seed 0
    for (SeedLmDecoder d : fastDecoders(params)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> d.decode(packed, 2, 8, new float[64], 0));
      assertTrue(e.getMessage().contains("block 6"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> d.decode(packed, 5, 6, new float[48], 0));
      assertThrows(IllegalArgumentException.class, () -> d.decode(packed, 0, 2, new float[15], 0));
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new SeedLmDecoder(params, 0).decodeRef(packed, 0, 10, new float[80], 0));
    assertTrue(e.getMessage().contains("block 6"), e.getMessage());
  }

  @Test
  void theFusedKernelFindsTheColumnsOfUOfEverySeed() {
    SeedLmParams params = SeedLmParams.FOUR_BIT;
    SeedLmDecoder d = SeedLmDecoder.of(params);
    float[] uf = SeedBasis.of(params).uf(); // U(s) of the canonical decoder, row-major C x P per seed
    float[] cols = d.dotColumns();
    int step = SeedLmDecoder.STEP;
    int[] col = new int[SeedLmDecoder.DOT_ROWS * 3 * step];
    int n = (1 << 16) - 1;
    for (int s0 = 0; s0 < n; s0 += SeedLmDecoder.DOT_ROWS * step) {
      for (int r = 0; r < SeedLmDecoder.DOT_ROWS; r++) {
        for (int i = 0; i < step; i++) {
          col[3 * r * step + i] = 1 + (s0 + r * step + i) % n;
        }
      }
      d.columnStarts(col, step);
      for (int r = 0; r < SeedLmDecoder.DOT_ROWS; r++) {
        for (int i = 0; i < step; i++) {
          int seed = 1 + (s0 + r * step + i) % n;
          for (int j = 0; j < 3; j++) {
            int at = col[3 * r * step + j * step + i];
            for (int row = 0; row < 8; row++) {
              if (Float.floatToRawIntBits(cols[at + row]) != Float.floatToRawIntBits(uf[seed * 24 + row * 3 + j])) {
                throw new AssertionError("seed " + seed + ": U[" + row + "][" + j + "] = " + uf[seed * 24 + row * 3 + j]
                    + ", the kernel's column start " + at + " gives " + cols[at + row]);
              }
            }
          }
        }
      }
    }
  }

  @Test
  void theFusedKernelNamesASeedZeroBlockAndReadsOnlyTheRowsItIsGiven() {
    SeedLmParams params = SeedLmParams.FOUR_BIT;
    SeedLmDecoder d = SeedLmDecoder.of(params);
    int nb = 16; // rows of 128 weights
    byte[] packed = randomCodes(params, 4 * nb, 5, false);
    packed[4 * 53] = 0;
    packed[4 * 53 + 1] = 0; // block 53 (row 3): seed 0
    float[] x = new float[8 * nb];
    Arrays.fill(x, 0.5f);
    float[] y = new float[4];
    SeedLmDecoder.DotScratch scratch = new SeedLmDecoder.DotScratch();
    int[] offset = new int[4 * nb];
    assumeTrue(d.canDot(8 * nb), "the fused kernel needs 8-lane float vectors (AVX2), which this machine lacks");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> d.dotRows(packed, 0, nb, 4, offset, x, 0, scratch, y, 0));
    assertTrue(e.getMessage().contains("block 53"), e.getMessage());
    d.dotRows(packed, 0, nb, 3, offset, x, 0, scratch, y, 0); // rows 0..2 only: block 53 is not read
    assertThrows(IllegalArgumentException.class, () -> d.dotRows(packed, 0, nb, 5, offset, x, 0, scratch, y, 0));
  }

  @Test
  void scalarSwitchAndVectorWidths() {
    assertEquals(0, new SeedLmDecoder(SeedLmParams.FOUR_BIT, 0).lanes());
    SeedLmDecoder v = new SeedLmDecoder(SeedLmParams.THREE_BIT, 128);
    assertEquals(4, v.lanes());
  }
}
