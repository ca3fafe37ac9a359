package org.seedlm.pipeline.eval.llama;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.eval.Evaluator;

/** Picks the next token from logits: greedy, or temperature + nucleus (top-p) sampling with a fixed seed. */
public final class Sampler {
  private final double temperature;
  private final double topP;
  private final SplittableRandom random;

  /** temperature 0 = greedy (argmax, lowest id on ties); else softmax(logits/temperature), nucleus top-p, java.util.SplittableRandom(seed). */
  public Sampler(double temperature, double topP, long seed) {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new BadInputException("cannot sample with temperature " + temperature + " (use 0 for greedy or a positive number)");
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new BadInputException("cannot sample with top-p " + topP + " (use a number in (0, 1])");
    }
    this.temperature = temperature;
    this.topP = topP;
    this.random = new SplittableRandom(seed);
  }

  public int next(float[] logits) {
    if (temperature == 0) {
      return Evaluator.argmax(logits);
    }
    int n = logits.length;
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double[] p = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      p[i] = Math.exp((logits[i] - max) / temperature);
      sum += p[i];
    }
    // ids by probability, highest first (ties: lower id first, so the order is deterministic)
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    double[] pf = p;
    Arrays.sort(order, (a, b) -> pf[a] != pf[b] ? Double.compare(pf[b], pf[a]) : Integer.compare(a, b));
    int keep = 0;
    double cum = 0;
    while (keep < n && (keep == 0 || cum < topP * sum)) {
      cum += p[order[keep++]];
    }
    double r = random.nextDouble() * cum;
    for (int i = 0; i < keep; i++) {
      r -= p[order[i]];
      if (r < 0) {
        return order[i];
      }
    }
    return order[keep - 1];
  }
}
