package org.seedlm.pipeline.safetensors;

import java.io.IOException;

/**
 * A checkpoint (safetensors file, shard index or model config) is invalid or cannot be read as
 * asked. Messages follow {@code Cannot read <file>: tensor '<name>' <what is wrong> (<what to do>)}
 * and always name the file, and the tensor when there is one.
 */
public class CheckpointException extends IOException {
  private static final long serialVersionUID = 1L;

  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }

  /** {@code Cannot read <file>: <what>}. */
  public static CheckpointException file(String file, String what) {
    return new CheckpointException("Cannot read " + file + ": " + what);
  }

  /** {@code Cannot read <file>: <what>}, with a cause. */
  public static CheckpointException file(String file, String what, Throwable cause) {
    return new CheckpointException("Cannot read " + file + ": " + what, cause);
  }

  /** {@code Cannot read <file>: tensor '<name>' <what>}. */
  public static CheckpointException tensor(String file, String tensor, String what) {
    return new CheckpointException("Cannot read " + file + ": tensor '" + tensor + "' " + what);
  }
}
