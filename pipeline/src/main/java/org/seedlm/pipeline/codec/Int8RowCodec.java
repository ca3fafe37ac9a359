package org.seedlm.pipeline.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import org.seedlm.pipeline.numeric.HalfFloats;

/**
 * int8 row-wise absmax, the weight form of LLM.int8(): per output row an fp16 absmax scale and int8
 * codes, with the data-free form of the outlier rule: a column whose largest |w| exceeds
 * {@code outlierSigma * rms(W)} (rms over the whole tensor) is an outlier column and stays fp16.
 *
 * <p>The inlier part of each row is exactly one {@link RtnCodec} symmetric 8-bit block of the
 * row's inlier columns ({@code qmax = 127}, {@code s = fp16(max|x| / 127)}, {@code q =
 * clamp(rint(x / s), -127, 127)}, decode {@code q * s}, with RtnCodec's edge rules). Outlier
 * values are fp16-rounded (ties to even; beyond the fp16 range they saturate to +-65504).
 *
 * <h2>Layout</h2>
 *
 * <ol>
 *   <li>int32 little-endian: the number of outlier columns {@code nOut};
 *   <li>{@code ceil(cols / 8)} bytes: a bitmap of the outlier columns, column j at bit j, MSB first
 *       ({@link Bits});
 *   <li>{@code rows * nOut} fp16 little-endian: the outlier values, row-major, columns ascending;
 *   <li>when {@code nIn = cols - nOut > 0}: {@code rows} RTN blocks of {@code 16 + 8 * nIn} bits,
 *       MSB first, padded to a whole byte at the end.
 * </ol>
 *
 * Bits per weight are therefore {@code 8 + 16 / nIn} plus {@code 8 * nOut} per row (the fp16
 * outliers instead of int8), plus the header.
 */
public final class Int8RowCodec implements TensorCodec {

  /** Outlier threshold in units of the tensor's rms; the default, chosen by measurement (README). */
  public static final double OUTLIER_SIGMA_DEFAULT = 6.0;

  /** Threshold meaning "no outlier columns". */
  public static final double NO_OUTLIERS = Double.POSITIVE_INFINITY;

  private final double outlierSigma;

  /** @param outlierSigma the outlier threshold in units of the tensor rms, > 0, or {@link #NO_OUTLIERS} */
  public Int8RowCodec(double outlierSigma) {
    if (!(outlierSigma > 0)) {
      throw new IllegalArgumentException(
          "Cannot create int8-row codec with outlier-sigma=" + outlierSigma
              + ": outlier-sigma must be > 0 (or none for no outlier columns)");
    }
    this.outlierSigma = outlierSigma;
  }

  public double outlierSigma() {
    return outlierSigma;
  }

  @Override
  public String name() {
    if (outlierSigma == OUTLIER_SIGMA_DEFAULT) {
      return "int8-row";
    }
    return "int8-row-o" + (outlierSigma == NO_OUTLIERS ? "none" : TensorCodecs.number(outlierSigma));
  }

  @Override
  public Map<String, String> params() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("outlier-sigma", outlierSigma == NO_OUTLIERS ? "none" : TensorCodecs.number(outlierSigma));
    m.put("scale", "fp16 per row");
    return m;
  }

  /** The outlier columns of a tensor under this codec's rule. */
  public boolean[] outlierColumns(float[] w, int rows, int cols) {
    boolean[] out = new boolean[cols];
    if (outlierSigma == NO_OUTLIERS) {
      return out;
    }
    double sumSq = 0;
    for (float x : w) {
      sumSq += (double) x * x;
    }
    double limit = outlierSigma * Math.sqrt(sumSq / w.length);
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        if (Math.abs(w[r * cols + c]) > limit) {
          out[c] = true;
        }
      }
    }
    return out;
  }

  @Override
  public byte[] encode(float[] w, int rows, int cols) {
    TensorCodec.checkEncode(this, w, rows, cols);
    boolean[] outlier = outlierColumns(w, rows, cols);
    int nOut = 0;
    for (boolean o : outlier) {
      nOut += o ? 1 : 0;
    }
    int nIn = cols - nOut;
    int head = 4 + (cols + 7) / 8;
    RtnCodec rtn = nIn > 0 ? new RtnCodec(true, 8, nIn) : null;
    long rtnBytes = rtn == null ? 0 : rtn.packedBytes(rows);
    byte[] out = new byte[Math.toIntExact(head + 2L * rows * nOut + rtnBytes)];
    ByteBuffer buf = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    buf.putInt(nOut);
    for (int c = 0; c < cols; c++) {
      Bits.write(out, 32L + c, 1, outlier[c] ? 1 : 0);
    }
    buf.position(head);
    float[] inliers = new float[rows * nIn]; // (rows, nIn) the inlier columns, row-major
    for (int r = 0, k = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        float x = w[r * cols + c];
        if (outlier[c]) {
          buf.putShort(RtnCodec.saturatingF16(x));
        } else {
          inliers[k++] = x;
        }
      }
    }
    if (rtn != null) {
      byte[] packed = new byte[(int) rtnBytes];
      rtn.encode(inliers, 0, rows, packed, 0);
      System.arraycopy(packed, 0, out, buf.position(), packed.length);
    }
    return out;
  }

  @Override
  public float[] decode(byte[] encoded, int rows, int cols) {
    TensorCodec.checkShape(this, "decode", (long) rows * cols, rows, cols);
    ByteBuffer buf = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
    int nOut = buf.getInt();
    int head = 4 + (cols + 7) / 8;
    int nIn = cols - nOut;
    boolean[] outlier = new boolean[cols];
    int marked = 0;
    for (int c = 0; c < cols; c++) {
      outlier[c] = Bits.read(encoded, 32L + c, 1) == 1;
      marked += outlier[c] ? 1 : 0;
    }
    if (nOut < 0 || nOut > cols || marked != nOut) {
      throw new IllegalArgumentException(
          "Cannot decode int8-row tensor: header says " + nOut + " outlier columns, bitmap marks " + marked);
    }
    float[] inliers = new float[rows * nIn];
    int rtnAt = head + 2 * rows * nOut;
    if (nIn > 0) {
      RtnCodec rtn = new RtnCodec(true, 8, nIn);
      if (encoded.length != rtnAt + rtn.packedBytes(rows)) {
        throw new IllegalArgumentException(
            "Cannot decode int8-row tensor of " + rows + "x" + cols + ": " + encoded.length + " bytes, expected "
                + (rtnAt + rtn.packedBytes(rows)));
      }
      rtn.decode(encoded, 8L * rtnAt, rows, inliers, 0);
    }
    float[] w = new float[rows * cols];
    buf.position(head);
    for (int r = 0, k = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        w[r * cols + c] = outlier[c] ? HalfFloats.f16ToFloat(buf.getShort()) : inliers[k++];
      }
    }
    return w;
  }

  @Override
  public String toString() {
    return name();
  }
}
