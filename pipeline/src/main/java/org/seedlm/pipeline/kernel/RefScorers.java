package org.seedlm.pipeline.kernel;

/** The exact per-seed scorer used for final candidates: the reference codec's method. */
final class RefScorers {
  private RefScorers() {}

  static ExactScorer forParams(int c, int p, int k) {
    return new SpecScorer(c, p, k);
  }
}
