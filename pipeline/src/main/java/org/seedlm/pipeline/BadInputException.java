package org.seedlm.pipeline;

/**
 * An input the code recognises as wrong: a bad option value, a model it cannot handle, a run directory of
 * another model. The message names the file, tensor or option and says what to do; the CLI prints it without
 * a stack trace and exits 2. Everything else that is thrown is an internal error (exit 1, with its trace).
 *
 * <p>Malformed checkpoints have their own checked type, {@link org.seedlm.pipeline.safetensors.CheckpointException},
 * which the CLI treats the same way.
 *
 * <p>It is an {@link IllegalArgumentException}, so code that validates arguments keeps its contract; but only
 * this subtype means "the user's input": a plain IllegalArgumentException or IllegalStateException is a bug.
 */
public class BadInputException extends IllegalArgumentException {
  public BadInputException(String message) {
    super(message);
  }

  public BadInputException(String message, Throwable cause) {
    super(message, cause);
  }
}
