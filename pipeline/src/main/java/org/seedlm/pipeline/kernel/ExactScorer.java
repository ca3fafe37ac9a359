package org.seedlm.pipeline.kernel;

/**
 * Computes the quantized error of ONE given seed for one block, exactly as the reference codec
 * does. The fast search only uses it for the final candidates, so the errors it returns are the
 * reference's errors bit for bit.
 */
public interface ExactScorer {
  /**
   * Quantized error {@code ||w - U(seed) t_hat||^2} of block {@code w[off .. off+C)} for {@code
   * seed} in a group of exponent offset {@code offset}; writes the P mantissas to {@code q[qOff ..]}
   * and returns the exponent e_rel in {@code eOut[0]}.
   */
  double error(float[] w, int off, int seed, int offset, int[] q, int qOff, int[] eOut);
}
