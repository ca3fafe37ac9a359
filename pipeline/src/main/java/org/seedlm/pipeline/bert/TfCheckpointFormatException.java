package org.seedlm.pipeline.bert;

import java.io.IOException;

/** A TensorFlow checkpoint file (index SSTable or data shard) is malformed or unsupported. */
public final class TfCheckpointFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public TfCheckpointFormatException(String message) {
    super(message);
  }
}
