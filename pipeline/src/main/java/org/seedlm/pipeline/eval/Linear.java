package org.seedlm.pipeline.eval;

/**
 * A linear layer {@code y = x · Wᵀ + b} for row-major {@code x [rows, in]}, {@code W [out, in]} (the PyTorch
 * layout), whatever holds W: floats ({@link #dense}) or a packed model's bits (a fused decoder). Every
 * implementation gives the bits of {@link MatMul#linear} on its W as floats.
 */
public interface Linear {
  int in();

  int out();

  /** {@code y [rows, out] = x [rows, in] · Wᵀ + b}. */
  void apply(float[] x, int rows, float[] y);

  /** Bytes of weights this layer holds in memory. */
  long residentBytes();

  default float[] apply(float[] x, int rows) {
    float[] y = new float[rows * out()];
    apply(x, rows, y);
    return y;
  }

  /** W held as float32 {@code [out, in]} (and an optional bias {@code [out]}). */
  static Linear dense(float[] w, int out, int in, float[] bias) {
    if (w.length != (long) out * in || (bias != null && bias.length != out)) {
      throw new IllegalArgumentException("dense linear: " + w.length + " weights for [" + out + ", " + in + "]");
    }
    return new Linear() {
      @Override
      public int in() {
        return in;
      }

      @Override
      public int out() {
        return out;
      }

      @Override
      public void apply(float[] x, int rows, float[] y) {
        MatMul.linear(x, rows, in, w, out, bias, y);
      }

      @Override
      public long residentBytes() {
        return 4L * w.length + (bias == null ? 0 : 4L * bias.length);
      }
    };
  }
}
