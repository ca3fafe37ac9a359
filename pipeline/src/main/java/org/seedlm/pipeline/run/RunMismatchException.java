package org.seedlm.pipeline.run;

/** A run directory that belongs to another model or other options. */
public final class RunMismatchException extends IllegalStateException {
  public RunMismatchException(String message) {
    super(message);
  }
}
