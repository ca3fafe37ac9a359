package org.seedlm.pipeline.codec;

/** Argument checks shared by the codecs' bulk encode/decode methods. */
final class CodecChecks {
  private CodecChecks() {}

  static void checkEncode(BlockCodec c, float[] w, int wOff, int nBlocks, byte[] out, long bitOff) {
    if (nBlocks < 0) {
      throw new IllegalArgumentException(
          "Cannot encode " + nBlocks + " blocks with " + c.name() + ": nBlocks must be >= 0");
    }
    long need = (long) nBlocks * c.blockSize();
    if (wOff < 0 || wOff + need > w.length) {
      throw new IllegalArgumentException(
          "Cannot encode " + nBlocks + " blocks with " + c.name() + ": weights [" + wOff + ", "
              + (wOff + need) + ") exceed array length " + w.length);
    }
    checkBits(c, "encode", nBlocks, out, bitOff);
    for (long i = wOff; i < wOff + need; i++) {
      if (!Float.isFinite(w[(int) i])) {
        throw new IllegalArgumentException(
            "Cannot encode weight " + i + " with " + c.name() + ": value " + w[(int) i]
                + " is not finite; weights must be finite");
      }
    }
  }

  static void checkDecode(BlockCodec c, byte[] in, long bitOff, int nBlocks, float[] out, int outOff) {
    if (nBlocks < 0) {
      throw new IllegalArgumentException(
          "Cannot decode " + nBlocks + " blocks with " + c.name() + ": nBlocks must be >= 0");
    }
    long need = (long) nBlocks * c.blockSize();
    if (outOff < 0 || outOff + need > out.length) {
      throw new IllegalArgumentException(
          "Cannot decode " + nBlocks + " blocks with " + c.name() + ": output [" + outOff + ", "
              + (outOff + need) + ") exceeds array length " + out.length);
    }
    checkBits(c, "decode", nBlocks, in, bitOff);
  }

  private static void checkBits(BlockCodec c, String action, int nBlocks, byte[] buf, long bitOff) {
    long bits = (long) nBlocks * c.bitsPerBlock();
    if (bitOff < 0 || bitOff + bits > 8L * buf.length) {
      throw new IllegalArgumentException(
          "Cannot " + action + " " + nBlocks + " blocks with " + c.name() + ": bits [" + bitOff
              + ", " + (bitOff + bits) + ") exceed buffer of " + 8L * buf.length + " bits");
    }
  }
}
