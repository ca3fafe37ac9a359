package org.seedlm.pipeline.codec;

import java.util.LinkedHashMap;
import java.util.Map;
import org.seedlm.pipeline.numeric.HalfFloats;

/**
 * Round-to-nearest baseline (SPEC section 9): one group of {@code g} weights per block, {@code b}
 * bits per weight, an fp16 scale per group, symmetric or asymmetric.
 *
 * <h2>Symmetric</h2>
 *
 * {@code qmax = 2^(b-1) - 1}; {@code s = fp16(max|x| / qmax)} (the float32 quotient rounded to fp16,
 * ties to even); {@code q = clamp(rint(x / s), -qmax, qmax)} with the float32 quotient {@code x / s}
 * by the fp16-rounded scale; decode {@code q * s} in float (exact). Layout, MSB first: [16 bits fp16
 * s][g x b bits q, two's complement].
 *
 * <h2>Asymmetric</h2>
 *
 * {@code L = 2^b - 1}; {@code s = fp16((max - min) / L)}; {@code z = clamp(rint(-min / s), 0, L)};
 * {@code q = clamp(rint(x / s) + z, 0, L)}; decode {@code (q - z) * s} in float (exact). Layout: [16
 * bits fp16 s][b bits z][g x b bits q, unsigned]. Because z is clamped, the grid always contains 0;
 * a group lying entirely on one side of 0 saturates at the far end (SPEC rule taken literally).
 *
 * <h2>Edge cases (never NaN)</h2>
 *
 * <ul>
 *   <li>Scale overflow: if the fp16-rounded scale is infinite (float scale of at least 65520), it
 *       saturates to the largest finite fp16, 65504; the codes then clamp.
 *   <li>Symmetric, all-zero group: s = 0, all q = 0, decodes to +0.
 *   <li>Symmetric, tiny group ({@code max|x| > 0} but the scale rounds to fp16 zero): s = 2^-24,
 *       the smallest fp16 subnormal.
 *   <li>Asymmetric, zero range (a constant group, including all zeros, or a range whose scale
 *       rounds to fp16 zero): s = fp16(max|x|) (with the overflow rule). A constant group c != 0
 *       then decodes to {@code sign(c) * fp16(|c|)} (c > 0: z = 0, q = 1; c < 0: z = 1, q = 0). If
 *       s is still 0 (all |x| below 2^-25), the group is stored as s = 0, z = 0, q = 0 and decodes
 *       to +0.
 * </ul>
 *
 * Weights must be finite.
 */
public final class RtnCodec implements BlockCodec {

  /** Largest finite fp16 value. */
  public static final float F16_MAX = 65504f;

  /** Smallest positive fp16 subnormal, 2^-24. */
  public static final float F16_MIN_SUBNORMAL = 0x1p-24f;

  private final boolean symmetric;
  private final int bits;
  private final int groupSize;

  /**
   * @param symmetric symmetric (zero-point free) or asymmetric quantization
   * @param bits bits per weight b: 2..8 symmetric, 1..8 asymmetric
   * @param groupSize weights per group (= block) g: 1..65536
   */
  public RtnCodec(boolean symmetric, int bits, int groupSize) {
    int minBits = symmetric ? 2 : 1;
    if (bits < minBits || bits > 8) {
      throw new IllegalArgumentException(
          "Cannot create RTN codec with bits=" + bits + ": bits must be in [" + minBits + ", 8] for "
              + (symmetric ? "symmetric" : "asymmetric") + " mode");
    }
    if (groupSize < 1 || groupSize > 65536) {
      throw new IllegalArgumentException(
          "Cannot create RTN codec with groupSize=" + groupSize + ": groupSize must be in [1, 65536]");
    }
    this.symmetric = symmetric;
    this.bits = bits;
    this.groupSize = groupSize;
  }

  public boolean symmetric() {
    return symmetric;
  }

  public int bits() {
    return bits;
  }

  public int groupSize() {
    return groupSize;
  }

  @Override
  public String name() {
    return "rtn-" + (symmetric ? "sym" : "asym") + "-b" + bits + "-g" + groupSize;
  }

  @Override
  public Map<String, String> params() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("mode", symmetric ? "sym" : "asym");
    m.put("bits", Integer.toString(bits));
    m.put("group", Integer.toString(groupSize));
    return m;
  }

  @Override
  public int blockSize() {
    return groupSize;
  }

  @Override
  public int bitsPerBlock() {
    return bits * groupSize + 16 + (symmetric ? 0 : bits);
  }

  /** Rounds a non-negative float scale to fp16 with the overflow rule; returns the fp16 bits. */
  static short scaleToF16(float s) {
    return saturatingF16(s);
  }

  /** Rounds a finite float to fp16 (ties to even), saturating to +-65504 beyond the fp16 range. */
  static short saturatingF16(float x) {
    short h = HalfFloats.floatToF16(x);
    if (Float.isInfinite(HalfFloats.f16ToFloat(h))) {
      h = HalfFloats.floatToF16(Math.copySign(F16_MAX, x));
    }
    return h;
  }

  /** The fp16 scale bits of a symmetric group. */
  short symmetricScale(float[] w, int off) {
    float maxAbs = 0f;
    for (int i = 0; i < groupSize; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(w[off + i]));
    }
    int qmax = (1 << (bits - 1)) - 1;
    short h = scaleToF16(maxAbs / qmax);
    if (HalfFloats.f16ToFloat(h) == 0f && maxAbs > 0f) {
      h = HalfFloats.floatToF16(F16_MIN_SUBNORMAL);
    }
    return h;
  }

  @Override
  public void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff) {
    CodecChecks.checkEncode(this, w, wOff, nBlocks, out, outBitOff);
    for (int b = 0; b < nBlocks; b++) {
      int off = wOff + b * groupSize;
      long pos = outBitOff + (long) b * bitsPerBlock();
      if (symmetric) {
        encodeSym(w, off, out, pos);
      } else {
        encodeAsym(w, off, out, pos);
      }
    }
  }

  private void encodeSym(float[] w, int off, byte[] out, long pos) {
    int qmax = (1 << (bits - 1)) - 1;
    short h = symmetricScale(w, off);
    float s = HalfFloats.f16ToFloat(h);
    Bits.write(out, pos, 16, h & 0xFFFF);
    pos += 16;
    int mask = (1 << bits) - 1;
    for (int i = 0; i < groupSize; i++, pos += bits) {
      int q = 0;
      if (s != 0f) {
        double r = Math.rint(w[off + i] / s);
        q = (int) Math.max(-qmax, Math.min(qmax, r));
      }
      Bits.write(out, pos, bits, q & mask);
    }
  }

  private void encodeAsym(float[] w, int off, byte[] out, long pos) {
    int levels = (1 << bits) - 1;
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    float maxAbs = 0f;
    for (int i = 0; i < groupSize; i++) {
      float x = w[off + i];
      min = Math.min(min, x);
      max = Math.max(max, x);
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }
    short h = scaleToF16((max - min) / levels);
    if (HalfFloats.f16ToFloat(h) == 0f) {
      h = scaleToF16(maxAbs);
    }
    float s = HalfFloats.f16ToFloat(h);
    int z = 0;
    if (s != 0f) {
      z = (int) Math.max(0, Math.min(levels, Math.rint(-min / s)));
    }
    Bits.write(out, pos, 16, h & 0xFFFF);
    pos += 16;
    Bits.write(out, pos, bits, z);
    pos += bits;
    for (int i = 0; i < groupSize; i++, pos += bits) {
      int q = 0;
      if (s != 0f) {
        double r = Math.rint(w[off + i] / s) + z;
        q = (int) Math.max(0, Math.min(levels, r));
      }
      Bits.write(out, pos, bits, q);
    }
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    CodecChecks.checkDecode(this, in, inBitOff, nBlocks, out, outOff);
    for (int b = 0; b < nBlocks; b++) {
      long pos = inBitOff + (long) b * bitsPerBlock();
      int o = outOff + b * groupSize;
      float s = HalfFloats.f16ToFloat((int) Bits.read(in, pos, 16));
      if (!Float.isFinite(s)) {
        throw new IllegalArgumentException(
            "Cannot decode RTN block " + b + ": scale " + s + " is not finite");
      }
      pos += 16;
      if (symmetric) {
        for (int i = 0; i < groupSize; i++, pos += bits) {
          out[o + i] = Bits.readSigned(in, pos, bits) * s;
        }
      } else {
        int z = (int) Bits.read(in, pos, bits);
        pos += bits;
        for (int i = 0; i < groupSize; i++, pos += bits) {
          out[o + i] = ((int) Bits.read(in, pos, bits) - z) * s;
        }
      }
    }
  }

  @Override
  public String toString() {
    return name();
  }
}
