package org.seedlm.pipeline.run;

/** Assembly of a run with units that are not committed. */
public final class IncompleteRunException extends IllegalStateException {
  public IncompleteRunException(String message) {
    super(message);
  }
}
