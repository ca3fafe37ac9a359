package org.seedlm.pipeline.codec;

import java.util.Map;

/**
 * A codec that encodes a whole rank-2 tensor at once, for the codecs that are not block-local: a
 * per-row scale with outlier columns (int8 row-wise), an entropy-coded code stream (sparse
 * ternary), a per-tensor codebook (Kashin). The counterpart of {@link BlockCodec}, which encodes
 * fixed-size blocks to fixed-size bit strings.
 *
 * <p>A tensor is {@code float[rows * cols]}, row-major [out][in] as in the checkpoint. The encoded
 * form is a byte array whose layout each codec documents; it carries everything needed to decode
 * except the codec name and the shape, which the caller keeps. Its size is the codec's cost:
 * {@link #bitsPerWeight} counts every byte (scales, tables, coded stream, headers).
 * Implementations are immutable and thread-safe.
 */
public interface TensorCodec {

  /** The most weights a tensor of a tensor-level codec may have: it is encoded from one {@code float[]}. */
  long MAX_WEIGHTS = Integer.MAX_VALUE - 8;

  /**
   * The most bytes an encoded tensor may have: it is stored as one row of the block table, whose {@code bits}
   * column (its length in bits) is a 32-bit integer.
   */
  int MAX_ENCODED_BYTES = Integer.MAX_VALUE / 8;

  /** Canonical name, parseable by {@link TensorCodecs#parse(String)}, e.g. {@code int8-row}. */
  String name();

  /** The parameters that define the codec. */
  Map<String, String> params();

  /** Encodes a finite {@code rows x cols} tensor, row-major. */
  byte[] encode(float[] w, int rows, int cols);

  /**
   * The reference decoder: a plain scalar loop whose float results define the decoded weights of
   * {@code encoded}, a tensor of {@code rows x cols}.
   */
  float[] decode(byte[] encoded, int rows, int cols);

  /** Exact bits per weight of an encoded tensor: every byte of it, over {@code rows * cols}. */
  static double bitsPerWeight(byte[] encoded, int rows, int cols) {
    return 8.0 * encoded.length / ((double) rows * cols);
  }

  /**
   * The {@code rows x cols} matrix a tensor of {@code shape} is encoded as: the last dimension is the
   * columns, every leading dimension is folded into the rows (a 3-D [experts][out][in] tensor is
   * {@code experts * out} rows); a 1-D tensor is one row.
   */
  static int[] matrixShape(long[] shape) {
    long numel = org.seedlm.pipeline.safetensors.TensorInfo.numel(shape);
    long cols = shape.length == 0 ? 1 : shape[shape.length - 1];
    return new int[] {Math.toIntExact(cols == 0 ? 0 : numel / cols), Math.toIntExact(cols)};
  }

  /**
   * Refuses a tensor too large for a tensor-level codec, naming it: more than {@link #MAX_WEIGHTS} weights
   * ({@code encodedBytes} &lt; 0: before encoding), or an encoding of more than {@link #MAX_ENCODED_BYTES} bytes.
   */
  static void checkSize(String codec, String tensor, long numel, long encodedBytes) {
    String what = numel > MAX_WEIGHTS
        ? String.format("it has %,d weights, more than the %,d a tensor-level codec encodes at once", numel, MAX_WEIGHTS)
        : encodedBytes > MAX_ENCODED_BYTES
            ? String.format("its encoding is %,d bytes, more than the %,d one block-table row holds (its bits column is "
                + "a 32-bit integer)", encodedBytes, MAX_ENCODED_BYTES)
            : null;
    if (what != null) {
      throw new org.seedlm.pipeline.BadInputException(String.format("Cannot quantize %s with %s: %s; quantize it with a "
          + "block codec (seedlm-4bit, rtn-sym-b4-g128, nf4-g64, ...) in another run, or leave it out of this one "
          + "with --exclude", tensor, codec, what));
    }
  }

  /** Checks the arguments of {@link #encode}: shape positive, array of the right size, weights finite. */
  static void checkEncode(TensorCodec c, float[] w, int rows, int cols) {
    checkShape(c, "encode", w.length, rows, cols);
    for (int i = 0; i < w.length; i++) {
      if (!Float.isFinite(w[i])) {
        throw new IllegalArgumentException(
            "Cannot encode weight " + i + " with " + c.name() + ": value " + w[i]
                + " is not finite; weights must be finite");
      }
    }
  }

  /** Checks a shape against an array length. */
  static void checkShape(TensorCodec c, String action, long length, int rows, int cols) {
    if (rows < 1 || cols < 1 || (long) rows * cols != length) {
      throw new IllegalArgumentException(
          "Cannot " + action + " a " + rows + "x" + cols + " tensor with " + c.name() + ": "
              + (rows < 1 || cols < 1 ? "rows and cols must be >= 1" : "array has " + length + " weights"));
    }
  }
}
