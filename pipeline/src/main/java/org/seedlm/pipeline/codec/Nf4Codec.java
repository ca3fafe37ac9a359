package org.seedlm.pipeline.codec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * NF4 baseline (bitsandbytes levels, SPEC section 9): blocks of {@code n} weights (default 64), an
 * fp32 absmax scale per block and a 4-bit index into the 16 NF4 levels per weight.
 *
 * <p>Encode: {@code a = max|x|} (float); {@code y = x / a} (float division); the code is the index
 * of the nearest level to y. The comparison is exact: y is compared (in float64) with the midpoints
 * {@code (L_k + L_(k+1)) / 2}, which are exact in float64; {@code y > mid_k} moves to level k+1, so
 * a value exactly halfway between two levels takes the lower (more negative) level. An all-zero
 * block stores a = 0 and code 7 (level 0.0). Decode: {@code level[code] * a} in float. Layout, MSB
 * first: [32 bits fp32 a][n x 4 bits code, unsigned]. Weights must be finite.
 */
public final class Nf4Codec implements BlockCodec {

  /** The 16 NF4 levels, ascending (SPEC section 9). */
  private static final float[] LEVELS = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f
  };

  private static final double[] MIDPOINTS = new double[15];

  static {
    for (int k = 0; k < 15; k++) {
      MIDPOINTS[k] = ((double) LEVELS[k] + (double) LEVELS[k + 1]) / 2.0;
    }
  }

  private final int blockSize;

  /** @param blockSize weights per block n, 1..65536 (64 is the standard) */
  public Nf4Codec(int blockSize) {
    if (blockSize < 1 || blockSize > 65536) {
      throw new IllegalArgumentException(
          "Cannot create NF4 codec with blockSize=" + blockSize + ": blockSize must be in [1, 65536]");
    }
    this.blockSize = blockSize;
  }

  /** The 16 levels (a copy). */
  public static float[] levels() {
    return LEVELS.clone();
  }

  /** Index of the nearest level to {@code y} (ties to the lower level). */
  public static int nearestLevel(float y) {
    double d = y;
    int k = 0;
    while (k < 15 && d > MIDPOINTS[k]) {
      k++;
    }
    return k;
  }

  @Override
  public String name() {
    return "nf4-g" + blockSize;
  }

  @Override
  public Map<String, String> params() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("group", Integer.toString(blockSize));
    m.put("scale", "fp32");
    return m;
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public int bitsPerBlock() {
    return 4 * blockSize + 32;
  }

  @Override
  public void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff) {
    CodecChecks.checkEncode(this, w, wOff, nBlocks, out, outBitOff);
    for (int b = 0; b < nBlocks; b++) {
      int off = wOff + b * blockSize;
      long pos = outBitOff + (long) b * bitsPerBlock();
      float a = 0f;
      for (int i = 0; i < blockSize; i++) {
        a = Math.max(a, Math.abs(w[off + i]));
      }
      Bits.write(out, pos, 32, Float.floatToRawIntBits(a) & 0xFFFFFFFFL);
      pos += 32;
      for (int i = 0; i < blockSize; i++, pos += 4) {
        int code = a == 0f ? 7 : nearestLevel(w[off + i] / a);
        Bits.write(out, pos, 4, code);
      }
    }
  }

  @Override
  public void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff) {
    CodecChecks.checkDecode(this, in, inBitOff, nBlocks, out, outOff);
    for (int b = 0; b < nBlocks; b++) {
      long pos = inBitOff + (long) b * bitsPerBlock();
      float a = Float.intBitsToFloat((int) Bits.read(in, pos, 32));
      if (!Float.isFinite(a)) {
        throw new IllegalArgumentException(
            "Cannot decode NF4 block " + b + ": scale " + a + " is not finite");
      }
      pos += 32;
      int o = outOff + b * blockSize;
      for (int i = 0; i < blockSize; i++, pos += 4) {
        out[o + i] = LEVELS[(int) Bits.read(in, pos, 4)] * a;
      }
    }
  }

  @Override
  public String toString() {
    return name();
  }
}
