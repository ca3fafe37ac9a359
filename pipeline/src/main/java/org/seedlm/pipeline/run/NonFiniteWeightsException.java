package org.seedlm.pipeline.run;

import org.seedlm.pipeline.BadInputException;

/** A block holds NaN or Inf weights and the run's policy is {@code fail}. */
public final class NonFiniteWeightsException extends BadInputException {
  public NonFiniteWeightsException(String message) {
    super(message);
  }
}
