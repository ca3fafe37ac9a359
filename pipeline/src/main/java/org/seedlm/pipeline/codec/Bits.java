package org.seedlm.pipeline.codec;

/** MSB-first bit strings in byte arrays: bit 0 of a string is the most significant bit of byte 0. */
public final class Bits {
  private Bits() {}

  /** Writes the low {@code nBits} (0..64) of {@code value} at bit position {@code bitPos}, MSB first. */
  public static void write(byte[] buf, long bitPos, int nBits, long value) {
    for (int i = nBits - 1; i >= 0; i--, bitPos++) {
      int bit = (int) (value >>> i) & 1;
      int idx = (int) (bitPos >>> 3);
      int shift = 7 - (int) (bitPos & 7);
      buf[idx] = (byte) ((buf[idx] & ~(1 << shift)) | (bit << shift));
    }
  }

  /** Reads {@code nBits} (0..64) at bit position {@code bitPos}, MSB first, as an unsigned value. */
  public static long read(byte[] buf, long bitPos, int nBits) {
    long v = 0;
    for (int i = 0; i < nBits; i++, bitPos++) {
      int idx = (int) (bitPos >>> 3);
      int shift = 7 - (int) (bitPos & 7);
      v = (v << 1) | ((buf[idx] >>> shift) & 1);
    }
    return v;
  }

  /** Reads {@code nBits} (1..32) at {@code bitPos} as a two's-complement signed value. */
  public static int readSigned(byte[] buf, long bitPos, int nBits) {
    int v = (int) read(buf, bitPos, nBits);
    return (v << (32 - nBits)) >> (32 - nBits);
  }

  /** Copies {@code nBits} from {@code src} at {@code srcPos} to {@code dst} at {@code dstPos}. */
  public static void copy(byte[] src, long srcPos, byte[] dst, long dstPos, long nBits) {
    while (nBits > 0) {
      int n = (int) Math.min(64, nBits);
      write(dst, dstPos, n, read(src, srcPos, n));
      srcPos += n;
      dstPos += n;
      nBits -= n;
    }
  }
}
