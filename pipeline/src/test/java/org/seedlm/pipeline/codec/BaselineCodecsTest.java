package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BaselineCodecsTest {

  private static byte[] encode(BlockCodec c, float[] w) {
    int nb = w.length / c.blockSize();
    byte[] out = new byte[(int) c.packedBytes(nb)];
    c.encode(w, 0, nb, out, 0);
    return out;
  }

  private static float[] roundTrip(BlockCodec c, float[] w) {
    byte[] bits = encode(c, w);
    float[] out = new float[w.length];
    c.decode(bits, 0, w.length / c.blockSize(), out, 0);
    return out;
  }

  private static byte[] bytes(int... v) {
    byte[] b = new byte[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = (byte) v[i];
    }
    return b;
  }

  // ---------------------------------------------------------------------------------------------
  // RTN symmetric

  @Test
  void rtnSymmetricGolden() {
    RtnCodec c = new RtnCodec(true, 4, 4);
    float[] w = {0.7f, -0.35f, 0.1f, 0f};
    // s = fp16(0.7f / 7) = 0x2E66 = 0.0999755859375; q = 7, -4 (-3.5008 rounds to -4), 1, 0
    assertArrayEquals(bytes(0x2E, 0x66, 0x7C, 0x10), encode(c, w));
    assertArrayEquals(
        new float[] {0.6998291015625f, -0.39990234375f, 0.0999755859375f, 0f}, roundTrip(c, w));
    assertEquals(4 * 4 + 16, c.bitsPerBlock());
  }

  @Test
  void rtnSymmetricZeroConstantAndExtremeGroups() {
    RtnCodec c = new RtnCodec(true, 4, 4);
    assertArrayEquals(bytes(0, 0, 0, 0), encode(c, new float[4]));
    assertArrayEquals(new float[4], roundTrip(c, new float[4]));
    // constant 0.5: s = fp16(0.5/7) = 0.0714111328125, q = 7
    float[] k = roundTrip(c, new float[] {0.5f, 0.5f, 0.5f, 0.5f});
    for (float x : k) {
      assertEquals(0.4998779296875f, x);
    }
    // overflow: 1e6 / 7 > 65504 saturates to 65504, codes clamp to +-7
    float[] big = roundTrip(c, new float[] {1e6f, -1e6f, 65504f, 0f});
    assertArrayEquals(new float[] {7 * 65504f, -7 * 65504f, 65504f, 0f}, big);
    // underflow: 1e-7 / 7 rounds to fp16 zero, so the scale becomes 2^-24; q = rint(1.68) = 2
    float[] tiny = roundTrip(c, new float[] {1e-7f, 0f, -1e-9f, 0f});
    assertArrayEquals(new float[] {0x1p-23f, 0f, 0f, 0f}, tiny);
    for (float x : tiny) {
      assertTrue(!Float.isNaN(x));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // RTN asymmetric

  @Test
  void rtnAsymmetricGolden() {
    RtnCodec c = new RtnCodec(false, 4, 4);
    float[] w = {-1.0f, 0.5f, 2.0f, 0.25f};
    // s = fp16(3/15) = 0x3266 = 0.199951171875; z = rint(5.0012) = 5; q = 0, 8, 15, 6
    assertArrayEquals(bytes(0x32, 0x66, 0x50, 0x8F, 0x60), encode(c, w));
    float s = 0.199951171875f;
    assertArrayEquals(new float[] {-5 * s, 3 * s, 10 * s, 1 * s}, roundTrip(c, w));
    assertEquals(4 * 4 + 16 + 4, c.bitsPerBlock());
  }

  @Test
  void rtnAsymmetricZeroConstantAndExtremeGroups() {
    RtnCodec c = new RtnCodec(false, 4, 4);
    assertArrayEquals(new float[4], roundTrip(c, new float[4]));
    assertArrayEquals(bytes(0, 0, 0, 0, 0), encode(c, new float[4]));
    // constant group c: s = fp16(|c|), decodes to c exactly when c is an fp16 value
    assertArrayEquals(new float[] {3f, 3f, 3f, 3f}, roundTrip(c, new float[] {3f, 3f, 3f, 3f}));
    assertArrayEquals(
        new float[] {-3f, -3f, -3f, -3f}, roundTrip(c, new float[] {-3f, -3f, -3f, -3f}));
    // constant 0.1: fp16(0.1) = 0.0999755859375
    float[] k = roundTrip(c, new float[] {0.1f, 0.1f, 0.1f, 0.1f});
    for (float x : k) {
      assertEquals(0.0999755859375f, x);
    }
    // tiny constant: scale still zero -> zeros
    assertArrayEquals(new float[4], roundTrip(c, new float[] {1e-9f, 1e-9f, 1e-9f, 1e-9f}));
    // overflow: the range overflows float and fp16; the scale saturates at 65504, no NaN
    float[] big = roundTrip(c, new float[] {-3e38f, 3e38f, 0f, 1f});
    for (float x : big) {
      assertTrue(Float.isFinite(x), "decoded " + x);
    }
    assertEquals(0f, big[2]);
  }

  @Test
  void rtnRandomErrorWithinHalfStep() {
    SplittableRandom rnd = new SplittableRandom(3);
    for (boolean sym : new boolean[] {true, false}) {
      RtnCodec c = new RtnCodec(sym, 4, 128);
      float[] w = new float[128 * 3];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) rnd.nextGaussian();
      }
      float[] d = roundTrip(c, w);
      for (int g = 0; g < 3; g++) {
        float max = 0;
        float min = 0;
        float maxAbs = 0;
        for (int i = 0; i < 128; i++) {
          max = i == 0 ? w[g * 128] : Math.max(max, w[g * 128 + i]);
          min = i == 0 ? w[g * 128] : Math.min(min, w[g * 128 + i]);
          maxAbs = Math.max(maxAbs, Math.abs(w[g * 128 + i]));
        }
        double step = sym ? maxAbs / 7.0 : (max - min) / 15.0;
        for (int i = 0; i < 128; i++) {
          assertTrue(Math.abs(w[g * 128 + i] - d[g * 128 + i]) <= 0.51 * step * 1.001 + 1e-3 * step);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // NF4

  @Test
  void nf4Golden() {
    Nf4Codec c = new Nf4Codec(4);
    float[] w = {-2.0f, 1.0f, 0.4f, 0f};
    // absmax 2 (0x40000000); y = -1 -> 0, 0.5 -> 12 (0.4407), 0.2 -> 9 (0.1609), 0 -> 7
    assertArrayEquals(bytes(0x40, 0, 0, 0, 0x0C, 0x97), encode(c, w));
    assertArrayEquals(
        new float[] {-2f, 0.44070982933044434f * 2f, 0.16093020141124725f * 2f, 0f},
        roundTrip(c, w));
    assertEquals(4 * 4 + 32, c.bitsPerBlock());
    assertEquals(4.5, new Nf4Codec(64).bitsPerWeight());
  }

  @Test
  void nf4TiesGoToLowerLevel() {
    float mid = 0.07958029955625534f / 2f; // exactly halfway between levels 7 (0.0) and 8
    assertEquals(7, Nf4Codec.nearestLevel(mid));
    assertEquals(8, Nf4Codec.nearestLevel(Math.nextUp(mid)));
    assertEquals(6, Nf4Codec.nearestLevel(Math.nextDown(-0.09105003625154495f / 2f)));
    assertEquals(0, Nf4Codec.nearestLevel(-1f));
    assertEquals(15, Nf4Codec.nearestLevel(1f));
    float[] lv = Nf4Codec.levels();
    for (int k = 0; k < 16; k++) {
      assertEquals(k, Nf4Codec.nearestLevel(lv[k]));
    }
  }

  @Test
  void nf4ZeroAndConstantBlocks() {
    Nf4Codec c = new Nf4Codec(4);
    assertArrayEquals(bytes(0, 0, 0, 0, 0x77, 0x77), encode(c, new float[4]));
    assertArrayEquals(new float[4], roundTrip(c, new float[4]));
    assertArrayEquals(new float[] {-5f, -5f, -5f, -5f}, roundTrip(c, new float[] {-5f, -5f, -5f, -5f}));
    assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f, 0.25f},
        roundTrip(c, new float[] {0.25f, 0.25f, 0.25f, 0.25f}));
  }

  // ---------------------------------------------------------------------------------------------
  // Names and validation

  @Test
  void namesParamsAndValidation() {
    assertEquals("rtn-sym-b4-g128", new RtnCodec(true, 4, 128).name());
    assertEquals("rtn-asym-b4-g128", new RtnCodec(false, 4, 128).name());
    assertEquals("nf4-g64", new Nf4Codec(64).name());
    assertEquals(4.125, new RtnCodec(true, 4, 128).bitsPerWeight());
    assertEquals(4 + 20 / 128.0, new RtnCodec(false, 4, 128).bitsPerWeight());
    assertEquals(Map.of("mode", "sym", "bits", "4", "group", "128"), new RtnCodec(true, 4, 128).params());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new RtnCodec(true, 1, 128));
    assertTrue(e.getMessage().startsWith("Cannot create RTN codec with bits=1"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new RtnCodec(false, 9, 128));
    assertThrows(IllegalArgumentException.class, () -> new RtnCodec(false, 4, 0));
    assertThrows(IllegalArgumentException.class, () -> new Nf4Codec(0));
    assertThrows(
        IllegalArgumentException.class,
        () -> new Nf4Codec(4).encode(new float[] {1, Float.POSITIVE_INFINITY, 0, 0}, 0, 1, new byte[6], 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> new RtnCodec(true, 4, 4).encode(new float[] {1, Float.NaN, 0, 0}, 0, 1, new byte[4], 0));
  }
}
