package org.seedlm.pipeline.tools;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.metrics.ErrorStats;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * Encodes the same weights of one tensor with several codecs and measures each: exact bits per
 * weight and the reconstruction error of the canonical decoder. No engine; used by
 * {@code seedlm compare}.
 */
public final class CodecComparison {
  private CodecComparison() {}

  /**
   * One codec's result.
   *
   * @param codec codec name
   * @param bitsPerWeight exact bits per weight of the codec
   * @param weights weights compared
   * @param stats reconstruction error
   * @param seconds encode time
   */
  public record Row(String codec, double bitsPerWeight, long weights, ErrorStats stats, double seconds) {}

  /**
   * Compares codecs on the first {@code maxWeights} weights of a tensor (all if it is smaller), in
   * row-major order. Every codec sees exactly the same weights; a partial last block is zero-padded
   * and its padding is excluded from the error.
   */
  public static List<Row> compare(Checkpoint ckpt, String tensor, List<BlockCodec> codecs, long maxWeights)
      throws IOException {
    long numel = ckpt.info(tensor).numel();
    int n = (int) Math.min(Math.min(numel, maxWeights), Integer.MAX_VALUE - 1024);
    float[] w = new float[n];
    ckpt.readFiniteFloats(tensor, 0, n, w, 0);
    return compare(w, codecs);
  }

  /**
   * Compares codecs on the weights {@code w} (one tensor flattened row-major): each encodes the zero-padded
   * blocks with the side data it chooses (SeedLM format version 2: its offsets) and decodes them back.
   */
  public static List<Row> compare(float[] w, List<BlockCodec> codecs) {
    int n = w.length;
    List<Row> rows = new ArrayList<>();
    for (BlockCodec codec : codecs) {
      int c = codec.blockSize();
      int blocks = (n + c - 1) / c;
      float[] padded = java.util.Arrays.copyOf(w, blocks * c);
      byte[] bits = new byte[(int) codec.packedBytes(blocks)];
      long t0 = System.nanoTime();
      int[] offsets = codec.groupOffsets(padded, 0, blocks);
      codec.encode(padded, 0, blocks, offsets, bits, 0);
      double secs = (System.nanoTime() - t0) / 1e9;
      float[] what = new float[padded.length];
      codec.decode(bits, 0, blocks, offsets, what, 0);
      ErrorStats s = new ErrorStats().add(w, 0, what, 0, n);
      rows.add(new Row(codec.label(), codec.bitsPerWeight(), n, s, secs));
    }
    return rows;
  }
}
