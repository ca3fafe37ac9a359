package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.seedlm.pipeline.eval.Evaluator;

/**
 * Runs {@link CausalTasks} and self-generated passages through an original causal LM and, optionally, a
 * compressed one, in one {@link LayerStreamingForward} pass over the layers (every sequence of every task
 * together), scoring each sequence as its logits arrive (no logits are kept).
 */
public final class CausalEvaluator {
  /** Sampling of the self-generated passages: temperature 1, nucleus top-p 0.95. */
  public static final double TEMPERATURE = 1.0;
  public static final double TOP_P = 0.95;

  private CausalEvaluator() {}

  /**
   * {@code n} passages of {@code tokens} new tokens each sampled from {@code model} after BOS
   * ({@link #TEMPERATURE}, {@link #TOP_P}, {@code seed}); each returned sequence starts with BOS.
   */
  public static List<int[]> selfGenerated(LlamaWeights model, int n, int tokens, long seed) throws IOException {
    List<int[]> prompts = new ArrayList<>();
    int bos = model.config().bosTokenId();
    for (int i = 0; i < n; i++) {
      prompts.add(bos >= 0 ? new int[] {bos} : new int[0]);
    }
    List<int[]> out = new ArrayList<>();
    if (n == 0) {
      return out;
    }
    try (LlamaGenerator g = LlamaGenerator.open(model, Runtime.getRuntime().maxMemory() / 4)) {
      List<int[]> gen = g.generate(prompts, tokens, new Sampler(TEMPERATURE, TOP_P, seed), null);
      for (int i = 0; i < n; i++) {
        int[] p = prompts.get(i);
        int[] s = java.util.Arrays.copyOf(p, p.length + gen.get(i).length);
        System.arraycopy(gen.get(i), 0, s, p.length, gen.get(i).length);
        out.add(s);
      }
    }
    return out;
  }

  /** Evaluates; {@code compressed} may be null (original only). {@code progress} gets one line per layer. */
  public static CausalReport evaluate(LlamaWeights original, LlamaWeights compressed, CausalTasks tasks,
      List<int[]> generated, Consumer<String> progress) throws IOException {
    long t0 = System.nanoTime();
    List<int[]> seqs = new ArrayList<>();
    for (CausalTasks.Passage p : tasks.passages()) {
      seqs.add(p.ids());
    }
    for (CausalTasks.ClozeItem c : tasks.cloze()) {
      for (int[] s : c.sequences()) {
        seqs.add(s);
      }
    }
    seqs.addAll(generated);
    Scores scores = new Scores(tasks, seqs, generated.size(), compressed != null);
    LayerStreamingForward.run(original, compressed, seqs, scores, progress);
    return scores.report(seqs.size(), (System.nanoTime() - t0) / 1e9);
  }

  /** The per-sequence scoring (package-private so that tests can feed it logits directly). */
  static final class Scores implements LayerStreamingForward.LogitsSink {
    private final CausalTasks tasks;
    private final List<int[]> seqs;
    private final int nGenerated;
    private final boolean cmp;
    private final int clozeFrom;
    private final int generatedFrom;
    private final double[] nll = new double[4]; // passages o/c, generated o/c
    private final int[] tokens = new int[2];
    private final double[][] candidate = new double[2][4]; // log-likelihood of each candidate, o/c
    private final int[] acc = new int[2];
    private final int[] accNorm = new int[2];
    private double klSum;
    private int agree;
    private int positions;

    Scores(CausalTasks tasks, List<int[]> seqs, int nGenerated, boolean cmp) {
      this.tasks = tasks;
      this.seqs = seqs;
      this.nGenerated = nGenerated;
      this.cmp = cmp;
      this.clozeFrom = tasks.passages().size();
      this.generatedFrom = clozeFrom + 4 * tasks.cloze().size();
    }

    @Override
    public void accept(int item, float[][] original, float[][] compressed) {
      int[] ids = seqs.get(item);
      if (item < clozeFrom || item >= generatedFrom) {
        int which = item < clozeFrom ? 0 : 1;
        for (int p = 0; p < ids.length; p++) {
          double[] lo = Evaluator.logSoftmax(original[p]);
          double[] lc = cmp ? Evaluator.logSoftmax(compressed[p]) : null;
          if (p + 1 < ids.length) {
            nll[2 * which] -= lo[ids[p + 1]];
            if (cmp) {
              nll[2 * which + 1] -= lc[ids[p + 1]];
            }
            tokens[which]++;
          }
          if (cmp) {
            klSum += Evaluator.kl(lo, lc);
            agree += Evaluator.argmax(original[p]) == Evaluator.argmax(compressed[p]) ? 1 : 0;
            positions++;
          }
        }
        return;
      }
      int k = item - clozeFrom;
      CausalTasks.ClozeItem c = tasks.cloze().get(k / 4);
      int cand = k % 4;
      candidate[0][cand] = continuationLogLikelihood(original, ids, c.start()[cand]);
      if (cmp) {
        candidate[1][cand] = continuationLogLikelihood(compressed, ids, c.start()[cand]);
      }
      if (cand == 3) {
        for (int m = 0; m < (cmp ? 2 : 1); m++) {
          acc[m] += best(candidate[m], null) == c.answer() ? 1 : 0;
          accNorm[m] += best(candidate[m], c.continuationBytes()) == c.answer() ? 1 : 0;
        }
      }
    }

    private static double continuationLogLikelihood(float[][] logits, int[] ids, int start) {
      double s = 0;
      for (int j = start; j < ids.length; j++) {
        s += Evaluator.logSoftmax(logits[j - 1])[ids[j]];
      }
      return s;
    }

    /** The candidate with the highest score (divided by its byte length when given); ties to the first. */
    private static int best(double[] ll, int[] bytes) {
      int b = 0;
      for (int i = 1; i < ll.length; i++) {
        if (score(ll, bytes, i) > score(ll, bytes, b)) {
          b = i;
        }
      }
      return b;
    }

    private static double score(double[] ll, int[] bytes, int i) {
      return bytes == null ? ll[i] : ll[i] / bytes[i];
    }

    CausalReport report(int sequences, double seconds) {
      double nan = Double.NaN;
      int nc = tasks.cloze().size();
      return new CausalReport(tasks.passages().size(), tokens[0], Math.exp(mean(nll[0], tokens[0])),
          cmp ? Math.exp(mean(nll[1], tokens[0])) : nan, nc, frac(acc[0], nc), cmp ? frac(acc[1], nc) : nan,
          frac(accNorm[0], nc), cmp ? frac(accNorm[1], nc) : nan, nGenerated, tokens[1], mean(nll[2], tokens[1]),
          cmp ? mean(nll[3], tokens[1]) : nan, positions, cmp ? mean(klSum, positions) : nan,
          cmp ? frac(agree, positions) : nan, sequences, seconds);
    }

    private static double mean(double sum, int n) {
      return n == 0 ? Double.NaN : sum / n;
    }

    private static double frac(int a, int n) {
      return n == 0 ? Double.NaN : (double) a / n;
    }
  }
}
