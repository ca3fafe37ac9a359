package org.seedlm.pipeline.codec;

import java.util.Map;

/**
 * A codec that turns fixed-size blocks of weights into fixed-size bit strings.
 *
 * <p>Every codec of the project (SeedLM, RTN, NF4) sits behind this interface so that all of them
 * run on the same blocks and land in the same error tables. Encoded blocks are bit strings of
 * exactly {@link #bitsPerBlock()} bits, written MSB first and back to back (see {@link Bits}); a
 * packed tensor is the concatenation of its blocks' bit strings, zero-padded to a whole byte.
 *
 * <p>A tensor is flattened row-major and cut into consecutive blocks of {@link #blockSize()}
 * weights; the caller zero-pads the last block. Implementations are immutable and thread-safe.
 */
public interface BlockCodec {

  /** Canonical name, parseable by {@link Codecs#parse(String)}, e.g. {@code seedlm-4bit}. */
  String name();

  /** The parameters that define the codec, for run specs and packed-format metadata. */
  Map<String, String> params();

  /** Weights per block. */
  int blockSize();

  /** Exact size of one encoded block in bits. */
  int bitsPerBlock();

  /** Exact bits per weight: {@code bitsPerBlock / blockSize}. */
  default double bitsPerWeight() {
    return bitsPerBlock() / (double) blockSize();
  }

  /** Bytes needed for {@code numBlocks} packed blocks (tail padded to a whole byte). */
  default long packedBytes(long numBlocks) {
    return (Math.multiplyExact(numBlocks, (long) bitsPerBlock()) + 7) / 8;
  }

  /**
   * Encodes {@code nBlocks} blocks: block {@code b} is {@code w[wOff + b*blockSize() ..]}; its bits
   * go to bit offset {@code outBitOff + b*bitsPerBlock()} of {@code out}, MSB first.
   */
  void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff);

  /**
   * Decodes {@code nBlocks} blocks from bit offset {@code inBitOff} of {@code in} into
   * {@code out[outOff ..]}. This is the canonical decoder: its float results define the weights of
   * a packed model, and every faster decoder must reproduce them bit for bit.
   */
  void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff);
}
