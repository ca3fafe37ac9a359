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

  /**
   * The name for tables: {@link #name()}, plus what tells variants of one name apart (SeedLM: the
   * coefficient rule and G where they are not the defaults, e.g. {@code seedlm-4bit[nearest,G=0]} for
   * format version 1).
   */
  default String label() {
    return name();
  }

  /** The parameters that define the codec, for run specs and packed-format metadata. */
  Map<String, String> params();

  /** Weights per block. */
  int blockSize();

  /** Exact size of one encoded block in bits. */
  int bitsPerBlock();

  /**
   * Exact bits per weight: {@code bitsPerBlock / blockSize}, plus the codec's per-group side data
   * (SeedLM format version 2: {@code 8 / (G * C)}). The one place every report and allocation takes it
   * from.
   */
  default double bitsPerWeight() {
    return bitsPerBlock() / (double) blockSize();
  }

  /** Groups of side data of {@code numBlocks} blocks: {@code ceil(numBlocks / G)}, 0 without side data. */
  default long groups(long numBlocks) {
    int g = groupBlocks();
    return g == 0 ? 0 : (numBlocks + g - 1) / g;
  }

  /**
   * Exact bits stored for a tensor of {@code numBlocks} blocks: the blocks plus the side data (8 bits per
   * group, SeedLM format version 2). What reports and allocation count; per weight it tends to {@link
   * #bitsPerWeight()}.
   */
  default long storedBits(long numBlocks) {
    return Math.multiplyExact(numBlocks, (long) bitsPerBlock()) + 8L * groups(numBlocks);
  }

  /** Bytes needed for {@code numBlocks} packed blocks (tail padded to a whole byte). */
  default long packedBytes(long numBlocks) {
    return (Math.multiplyExact(numBlocks, (long) bitsPerBlock()) + 7) / 8;
  }

  /**
   * Encodes {@code nBlocks} blocks: block {@code b} is {@code w[wOff + b*blockSize() ..]}; its bits
   * go to bit offset {@code outBitOff + b*bitsPerBlock()} of {@code out}, MSB first. A codec with
   * per-group side data ({@link #groupBlocks()} > 0) encodes with every group offset 0.
   */
  void encode(float[] w, int wOff, int nBlocks, byte[] out, long outBitOff);

  /**
   * Decodes {@code nBlocks} blocks from bit offset {@code inBitOff} of {@code in} into
   * {@code out[outOff ..]}. This is the canonical decoder: its float results define the weights of
   * a packed model, and every faster decoder must reproduce them bit for bit. A codec with per-group
   * side data decodes with every group offset 0.
   */
  void decode(byte[] in, long inBitOff, int nBlocks, float[] out, int outOff);

  // Per-group side data (SeedLM format version 2: one exponent offset per group of G blocks)

  /** Blocks per group of side data (G of SeedLM format version 2); 0 when the codec has none. */
  default int groupBlocks() {
    return 0;
  }

  /**
   * The side data the encoder chooses for blocks {@code w[wOff ..]} ({@code nBlocks} blocks, the
   * first at a group start): one int per group of {@link #groupBlocks()} blocks, the last group
   * possibly shorter; empty when the codec has none.
   */
  default int[] groupOffsets(float[] w, int wOff, int nBlocks) {
    return new int[0];
  }

  /**
   * {@link #encode(float[], int, int, byte[], long)} with the given side data ({@code offsets[g]}
   * for blocks {@code [g*G, (g+1)*G)} of this call, whose first block starts a group).
   */
  default void encode(float[] w, int wOff, int nBlocks, int[] offsets, byte[] out, long outBitOff) {
    encode(w, wOff, nBlocks, out, outBitOff);
  }

  /** {@link #decode(byte[], long, int, float[], int)} with the given side data, as for encode. */
  default void decode(byte[] in, long inBitOff, int nBlocks, int[] offsets, float[] out, int outOff) {
    decode(in, inBitOff, nBlocks, out, outOff);
  }
}
