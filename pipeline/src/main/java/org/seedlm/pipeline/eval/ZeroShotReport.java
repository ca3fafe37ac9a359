package org.seedlm.pipeline.eval;

/**
 * What {@link EvalGate} judges, for every model family: the zero-shot accuracy lost by compression and the
 * mean KL(original ‖ compressed), plus the table printed by {@code seedlm eval}.
 */
public interface ZeroShotReport {
  /** True when a compressed model was evaluated (else the compressed metrics are NaN). */
  boolean hasCompressed();

  /** Cloze accuracy lost by compression, in percentage points (positive = worse). */
  double accuracyDropPoints();

  /** Mean KL(original ‖ compressed) in nats over the compared positions. */
  double meanKl();

  /** A human-readable table. */
  String format();
}
