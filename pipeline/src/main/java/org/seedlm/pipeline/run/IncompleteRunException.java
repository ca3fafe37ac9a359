package org.seedlm.pipeline.run;

import org.seedlm.pipeline.BadInputException;

/** Assembly of a run with units that are not committed. */
public final class IncompleteRunException extends BadInputException {
  public IncompleteRunException(String message) {
    super(message);
  }
}
