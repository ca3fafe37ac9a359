package org.seedlm.pipeline.numeric;

/**
 * IEEE binary16 (F16) and bfloat16 (BF16) conversions, written out because Java 17 has no
 * {@code Float.float16ToFloat}. Narrowing rounds to nearest, ties to even; NaN stays NaN.
 */
public final class HalfFloats {
  private HalfFloats() {}

  /** Widens an F16 bit pattern (low 16 bits of {@code h}) to float; exact. */
  public static float f16ToFloat(int h) {
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      // zero or subnormal: mant * 2^-24, exact in float
      float v = mant * 0x1p-24f;
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** Narrows a float to the nearest F16 bit pattern (ties to even; overflow gives infinity). */
  public static short floatToF16(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xff;
    int mant = bits & 0x7fffff;
    if (exp == 0xff) {
      return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
    }
    int e = exp - 127 + 15;
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) {
      if (e < -10) {
        return (short) sign; // rounds to zero (below half the smallest subnormal)
      }
      // subnormal: shift the full significand (with implicit bit) into place and round
      int full = mant | 0x800000;
      int shift = 14 - e; // 24-bit significand -> 10-bit field at exponent 0
      int half = roundShift(full, shift);
      return (short) (sign | half);
    }
    int rounded = roundShift(mant, 13); // may carry into the exponent, which is correct
    int out = (e << 10) + rounded;
    if (out >= 0x7c00) {
      return (short) (sign | 0x7c00);
    }
    return (short) (sign | out);
  }

  /** Widens a BF16 bit pattern to float; exact. */
  /**
   * FP8 E4M3 (OCP "E4M3FN": the low 8 bits of {@code b}) to float, exactly: sign, 4 exponent bits with bias
   * 7, 3 mantissa bits; exponent 0 is subnormal ({@code m/8 * 2^-6}); no infinities; {@code S.1111.111} is
   * NaN, so the largest value is {@code 1.75 * 2^8 = 448}.
   */
  public static float fp8E4M3ToFloat(int b) {
    int s = (b >> 7) & 1;
    int e = (b >> 3) & 0xF;
    int m = b & 0x7;
    if (e == 0xF && m == 0x7) {
      return Float.NaN;
    }
    float v = e == 0 ? m / 8f * 0x1p-6f : (1 + m / 8f) * Math.scalb(1f, e - 7);
    return s == 0 ? v : -v;
  }

  /**
   * FP8 E5M2 (the low 8 bits of {@code b}) to float, exactly: IEEE-like, sign, 5 exponent bits with bias
   * 15, 2 mantissa bits; exponent 0 is subnormal ({@code m/4 * 2^-14}); exponent 31 is infinity ({@code m
   * = 0}) or NaN. It is the top byte of an IEEE binary16.
   */
  public static float fp8E5M2ToFloat(int b) {
    return f16ToFloat((b & 0xFF) << 8);
  }

  public static float bf16ToFloat(int b) {
    return Float.intBitsToFloat((b & 0xffff) << 16);
  }

  /** Narrows a float to the nearest BF16 bit pattern (ties to even); NaN stays a quiet NaN. */
  public static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int lsb = (bits >>> 16) & 1;
    return (short) ((bits + 0x7fff + lsb) >>> 16);
  }

  /** Rounds {@code v >> shift} to nearest, ties to even. */
  private static int roundShift(int v, int shift) {
    int q = v >>> shift;
    int rem = v & ((1 << shift) - 1);
    int halfway = 1 << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1) == 1)) {
      q++;
    }
    return q;
  }
}
