package org.seedlm.pipeline.tools;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.metrics.ErrorStats;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * Encodes the same weights of one tensor with several codecs and measures each: exact bits per
 * weight from the encoded size and the reconstruction error of the canonical decoder. Block codecs
 * take part through {@link org.seedlm.pipeline.codec.BlockTensorCodec}. No engine; used by
 * {@code seedlm compare}.
 */
public final class CodecComparison {
  private CodecComparison() {}

  /**
   * One codec's result.
   *
   * @param codec codec name
   * @param bitsPerWeight exact bits per weight: the encoded bytes over the weights
   * @param weights weights compared
   * @param stats reconstruction error
   * @param seconds encode time
   */
  public record Row(String codec, double bitsPerWeight, long weights, ErrorStats stats, double seconds) {}

  /** The weights compared: {@code rows x cols}, row-major. */
  public record Sample(float[] weights, int rows, int cols) {}

  /**
   * The first whole rows of a tensor holding at most {@code maxWeights} weights (at least one row);
   * a tensor of rank above 2 is seen as {@code [prod(leading dims)][last dim]}, a rank-1 one as one row.
   */
  public static Sample sample(Checkpoint ckpt, String tensor, long maxWeights) throws IOException {
    long[] shape = ckpt.info(tensor).shape();
    long numel = ckpt.info(tensor).numel();
    long cols = shape.length == 0 ? 1 : shape[shape.length - 1];
    long rows = Math.max(1, Math.min(numel / cols, Math.min(maxWeights, Integer.MAX_VALUE - 1024L) / cols));
    int n = Math.toIntExact(rows * cols);
    float[] w = new float[n];
    ckpt.readFiniteFloats(tensor, 0, n, w, 0);
    return new Sample(w, (int) rows, (int) cols);
  }

  /** Compares codecs on a tensor's sample ({@link #sample}): every codec sees exactly the same weights. */
  public static List<Row> compare(Checkpoint ckpt, String tensor, List<TensorCodec> codecs, long maxWeights)
      throws IOException {
    return compare(sample(ckpt, tensor, maxWeights), codecs);
  }

  /** Compares codecs on the same weights. */
  public static List<Row> compare(Sample s, List<TensorCodec> codecs) {
    List<Row> rows = new ArrayList<>();
    for (TensorCodec codec : codecs) {
      long t0 = System.nanoTime();
      byte[] enc = codec.encode(s.weights(), s.rows(), s.cols());
      double secs = (System.nanoTime() - t0) / 1e9;
      float[] what = codec.decode(enc, s.rows(), s.cols());
      ErrorStats st = new ErrorStats().add(s.weights(), 0, what, 0, s.weights().length);
      rows.add(new Row(codec.name(), TensorCodec.bitsPerWeight(enc, s.rows(), s.cols()), s.weights().length, st, secs));
    }
    return rows;
  }
}
