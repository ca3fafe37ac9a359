package org.seedlm.pipeline.run;

/** A block holds NaN or Inf weights and the run's policy is {@code fail}. */
public final class NonFiniteWeightsException extends IllegalArgumentException {
  public NonFiniteWeightsException(String message) {
    super(message);
  }
}
