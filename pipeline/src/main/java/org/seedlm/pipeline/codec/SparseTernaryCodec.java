package org.seedlm.pipeline.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import org.seedlm.pipeline.numeric.HalfFloats;

/**
 * Sparse ternary (and five-level) weights with entropy-coded codes: per group of {@code g}
 * consecutive weights (row-major over the whole tensor; the last group may be shorter) an fp16
 * scale {@code a} and a code {@code q} in {@code [-L, L]} per weight (L = 1: {-1, 0, +1}; L = 2:
 * five levels), decoded as {@code q * a}. All codes of the tensor form one stream, range-coded
 * with its own static model ({@link RangeCoder}), so the bits per weight come from the coded size.
 *
 * <h2>Encode, per group</h2>
 *
 * <ol>
 *   <li>Sparsity: {@code m = mean |x|}; a weight with {@code |x| <= t * m} gets code 0 (t is the
 *       sparsity threshold; t = 0.7 is the TWN rule, about 40 % zeros on Gaussian weights, larger t
 *       forces more zeros).
 *   <li>Scale, least squares for the codes: start at {@code a = mean |x|} over the kept weights (for
 *       L = 2, divided by 1.5); {@value #SCALE_ITERATIONS} times: {@code |q| = clamp(rint(|x| / a),
 *       1, L)} on the kept weights, then {@code a = sum(|x| |q|) / sum(q^2)}. For L = 1 this is
 *       the mean kept magnitude.
 *   <li>{@code a} rounds to fp16 (saturating; a nonzero a below the fp16 range becomes 2^-24);
 *       codes are {@code sign(x) * clamp(rint(|x| / a), 1, L)} with the rounded a. A group with
 *       nothing kept stores a = 0.
 * </ol>
 *
 * <h2>Layout</h2>
 *
 * [{@code ceil(n / g)} fp16 scales, little-endian][range-coded stream of the symbols {@code q + L}
 * over an alphabet of {@code 2L + 1}: its table, then the coded bytes].
 */
public final class SparseTernaryCodec implements TensorCodec {

  /** Alternations of codes and least-squares scale. */
  public static final int SCALE_ITERATIONS = 4;

  private final int levels;
  private final int groupSize;
  private final double threshold;

  /**
   * @param levels L: 1 for ternary, 2 for five levels
   * @param groupSize g, 1..65536
   * @param threshold the sparsity threshold t >= 0, in units of the group's mean |x|
   */
  public SparseTernaryCodec(int levels, int groupSize, double threshold) {
    if (levels != 1 && levels != 2) {
      throw new IllegalArgumentException(
          "Cannot create sparse ternary codec with levels=" + levels + ": levels must be 1 (ternary) or 2 (five levels)");
    }
    if (groupSize < 1 || groupSize > 65536) {
      throw new IllegalArgumentException(
          "Cannot create sparse ternary codec with groupSize=" + groupSize + ": groupSize must be in [1, 65536]");
    }
    if (!(threshold >= 0) || Double.isInfinite(threshold)) {
      throw new IllegalArgumentException(
          "Cannot create sparse ternary codec with threshold=" + threshold + ": threshold must be finite and >= 0");
    }
    this.levels = levels;
    this.groupSize = groupSize;
    this.threshold = threshold;
  }

  @Override
  public String name() {
    return (levels == 1 ? "ternary" : "ternary5") + "-g" + groupSize + "-t" + TensorCodecs.number(threshold);
  }

  @Override
  public Map<String, String> params() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("levels", Integer.toString(2 * levels + 1));
    m.put("group", Integer.toString(groupSize));
    m.put("threshold", TensorCodecs.number(threshold));
    m.put("coder", "range, static model, total " + RangeCoder.TOTAL);
    return m;
  }

  @Override
  public byte[] encode(float[] w, int rows, int cols) {
    TensorCodec.checkEncode(this, w, rows, cols);
    int n = w.length;
    int groups = (n + groupSize - 1) / groupSize;
    short[] scales = new short[groups]; // (groups,) fp16 bits
    int[] symbols = new int[n]; // (n,) q + L
    for (int g = 0; g < groups; g++) {
      int from = g * groupSize;
      int to = Math.min(n, from + groupSize);
      scales[g] = encodeGroup(w, from, to, symbols);
    }
    byte[] stream = RangeCoder.encode(symbols, 2 * levels + 1);
    ByteBuffer out = ByteBuffer.allocate(2 * groups + stream.length).order(ByteOrder.LITTLE_ENDIAN);
    for (short s : scales) {
      out.putShort(s);
    }
    out.put(stream);
    return out.array();
  }

  /** Codes of {@code w[from, to)} into {@code symbols}; returns the fp16 scale. */
  private short encodeGroup(float[] w, int from, int to, int[] symbols) {
    double mean = 0;
    for (int i = from; i < to; i++) {
      mean += Math.abs(w[i]);
    }
    mean /= to - from;
    double cut = threshold * mean;
    double kept = 0;
    int nKept = 0;
    for (int i = from; i < to; i++) {
      if (Math.abs(w[i]) > cut) {
        kept += Math.abs(w[i]);
        nKept++;
      }
    }
    for (int i = from; i < to; i++) {
      symbols[i] = levels;
    }
    if (nKept == 0) {
      return 0;
    }
    double a = kept / nKept / (levels == 1 ? 1.0 : 1.5);
    for (int it = 0; it < SCALE_ITERATIONS; it++) {
      double num = 0;
      double den = 0;
      for (int i = from; i < to; i++) {
        double x = Math.abs(w[i]);
        if (x > cut) {
          int q = magnitude(x, a);
          num += x * q;
          den += (double) q * q;
        }
      }
      a = num / den;
    }
    short h = RtnCodec.saturatingF16((float) a);
    if (HalfFloats.f16ToFloat(h) == 0f) {
      h = HalfFloats.floatToF16(RtnCodec.F16_MIN_SUBNORMAL);
    }
    float s = HalfFloats.f16ToFloat(h);
    for (int i = from; i < to; i++) {
      double x = Math.abs(w[i]);
      if (x > cut) {
        int q = magnitude(x, s);
        symbols[i] = levels + (w[i] < 0 ? -q : q);
      }
    }
    return h;
  }

  private int magnitude(double x, double a) {
    return (int) Math.max(1, Math.min(levels, Math.rint(x / a)));
  }

  @Override
  public float[] decode(byte[] encoded, int rows, int cols) {
    TensorCodec.checkShape(this, "decode", (long) rows * cols, rows, cols);
    int n = rows * cols;
    int groups = (n + groupSize - 1) / groupSize;
    int[] symbols = RangeCoder.decode(encoded, 2 * groups, n, 2 * levels + 1);
    ByteBuffer in = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
    float[] w = new float[n];
    for (int g = 0; g < groups; g++) {
      float s = HalfFloats.f16ToFloat(in.getShort());
      if (!Float.isFinite(s)) {
        throw new IllegalArgumentException("Cannot decode " + name() + " group " + g + ": scale " + s + " is not finite");
      }
      for (int i = g * groupSize; i < Math.min(n, (g + 1) * groupSize); i++) {
        w[i] = (symbols[i] - levels) * s;
      }
    }
    return w;
  }

  @Override
  public String toString() {
    return name();
  }
}
