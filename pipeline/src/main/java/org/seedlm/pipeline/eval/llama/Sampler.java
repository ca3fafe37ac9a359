package org.seedlm.pipeline.eval.llama;

/** Picks the next token from logits. */
public final class Sampler {
  public Sampler(double temperature, double topP, long seed) {
  }

  public int next(float[] logits) {
    throw new UnsupportedOperationException("not yet");
  }
}
