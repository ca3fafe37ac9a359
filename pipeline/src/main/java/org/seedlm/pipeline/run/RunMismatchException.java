package org.seedlm.pipeline.run;

import org.seedlm.pipeline.BadInputException;

/** A run directory that belongs to another model or other options. */
public final class RunMismatchException extends BadInputException {
  public RunMismatchException(String message) {
    super(message);
  }
}
