package org.seedlm.pipeline.codec;

import java.util.Arrays;

/**
 * One SeedLM block: seed, shared exponent e (in [-8, 7]) and P coefficients q (each in [-8, 7]),
 * plus the quantized squared error {@code ||w - U(seed) t_hat||^2} of the block it was chosen for
 * (float64, computed as {@link SeedLmCodec#quantizedError} does), or NaN when the block was read
 * back from bits.
 */
public record SeedChoice(int seed, int exponent, int[] q, double err) {
  public SeedChoice {
    q = q.clone();
  }

  /** The coefficients (a copy). */
  @Override
  public int[] q() {
    return q.clone();
  }

  /** {@code q[j]}. */
  public int q(int j) {
    return q[j];
  }

  /** Same seed, exponent and coefficients (the error is not compared). */
  public boolean sameCode(SeedChoice o) {
    return seed == o.seed && exponent == o.exponent && Arrays.equals(q, o.q);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SeedChoice c
        && sameCode(c)
        && Double.doubleToLongBits(err) == Double.doubleToLongBits(c.err);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * seed + exponent) + Arrays.hashCode(q)) + Double.hashCode(err);
  }

  @Override
  public String toString() {
    return "SeedChoice[seed=" + seed + ", e=" + exponent + ", q=" + Arrays.toString(q) + ", err=" + err + "]";
  }
}
