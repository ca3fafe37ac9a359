package org.seedlm.pipeline.metrics;

import java.io.Serializable;

/**
 * Accumulated reconstruction error of a set of weights (a block, a tensor, a layer).
 *
 * <p>All sums are float64. {@code sqErr = sum (w - w_hat)^2}, {@code sqNorm = sum w^2}.
 */
public final class ErrorStats implements Serializable {
  private long count;
  private double sqErr;
  private double sqNorm;
  private double maxAbsErr;

  /** Squared error of one block: {@code sum_i (w[wOff+i] - what[hOff+i])^2} in float64, in index order. */
  public static double squaredError(float[] w, int wOff, float[] what, int hOff, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      double d = (double) w[wOff + i] - (double) what[hOff + i];
      s += d * d;
    }
    return s;
  }

  /** Squared norm {@code sum_i w[off+i]^2} in float64, in index order. */
  public static double squaredNorm(float[] w, int off, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      double d = w[off + i];
      s += d * d;
    }
    return s;
  }

  /** Adds {@code n} weights and their reconstruction. */
  public ErrorStats add(float[] w, int wOff, float[] what, int hOff, int n) {
    for (int i = 0; i < n; i++) {
      double d = Math.abs((double) w[wOff + i] - (double) what[hOff + i]);
      if (d > maxAbsErr || Double.isNaN(d)) {
        maxAbsErr = d;
      }
    }
    count += n;
    sqErr += squaredError(w, wOff, what, hOff, n);
    sqNorm += squaredNorm(w, wOff, n);
    return this;
  }

  /** Adds pre-computed sums (for example one block's row of an error table). */
  public ErrorStats add(long n, double blockSqErr, double blockSqNorm, double blockMaxAbsErr) {
    count += n;
    sqErr += blockSqErr;
    sqNorm += blockSqNorm;
    maxAbsErr = Math.max(maxAbsErr, blockMaxAbsErr);
    return this;
  }

  public ErrorStats merge(ErrorStats o) {
    return add(o.count, o.sqErr, o.sqNorm, o.maxAbsErr);
  }

  public long count() { return count; }
  public double sqErr() { return sqErr; }
  public double sqNorm() { return sqNorm; }
  public double maxAbsErr() { return maxAbsErr; }

  /** Relative Frobenius error {@code sqrt(sqErr / sqNorm)}; 0 for an all-zero tensor reproduced exactly. */
  public double relativeError() {
    return sqNorm == 0 ? (sqErr == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(sqErr / sqNorm);
  }

  /** Signal-to-noise ratio in dB: {@code 10 log10(sqNorm / sqErr)}; +Inf for an exact reconstruction. */
  public double snrDb() {
    return sqErr == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(sqNorm / sqErr);
  }

  /** Root mean squared error per weight. */
  public double rmse() {
    return count == 0 ? 0 : Math.sqrt(sqErr / count);
  }

  @Override
  public String toString() {
    return String.format("n=%d rel=%.5f snr=%.2fdB maxAbs=%.4g", count, relativeError(), snrDb(), maxAbsErr);
  }
}
