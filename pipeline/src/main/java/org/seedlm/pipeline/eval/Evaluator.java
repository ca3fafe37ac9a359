package org.seedlm.pipeline.eval;

import java.util.function.IntConsumer;
import org.seedlm.pipeline.eval.EvalTasks.ClozeItem;
import org.seedlm.pipeline.eval.EvalTasks.MlmItem;

/**
 * Runs {@link EvalTasks} on an original model and, optionally, a compressed one, comparing their
 * masked-token distributions position by position.
 */
public final class Evaluator {
  private Evaluator() {}

  /**
   * The original model on a task set, its masked logits computed on first use and kept, so that
   * several compressed models (one {@code seedlm report}) are compared with one set of original
   * forward passes.
   */
  public static final class Reference {
    private final BertModel model;
    private final EvalTasks tasks;
    private final float[][][] cloze;
    private final float[][][] mlm;
    private int forwards;

    public Reference(BertModel model, EvalTasks tasks) {
      this.model = model;
      this.tasks = tasks;
      this.cloze = new float[tasks.cloze().size()][][];
      this.mlm = new float[tasks.mlm().size()][][];
    }

    public EvalTasks tasks() {
      return tasks;
    }

    float[] cloze(int i) {
      if (cloze[i] == null) {
        ClozeItem it = tasks.cloze().get(i);
        cloze[i] = model.maskedLogits(it.ids(), new int[] {it.position()});
        forwards++;
      }
      return cloze[i][0];
    }

    float[][] mlm(int i) {
      if (mlm[i] == null) {
        MlmItem it = tasks.mlm().get(i);
        mlm[i] = model.maskedLogits(it.input(), it.positions());
        forwards++;
      }
      return mlm[i];
    }
  }

  /** Evaluates; {@code compressed} may be null (original only). {@code progress} gets items done. */
  public static EvalReport evaluate(BertModel original, BertModel compressed, EvalTasks tasks, IntConsumer progress) {
    return evaluate(new Reference(original, tasks), compressed, progress);
  }

  /**
   * Evaluates against a {@link Reference} (its original forward passes run only the first time);
   * {@code compressed} may be null. {@code progress} gets items done.
   */
  public static EvalReport evaluate(Reference original, BertModel compressed, IntConsumer progress) {
    long t0 = System.nanoTime();
    int forwardsBefore = original.forwards;
    EvalTasks tasks = original.tasks();
    int forwards = 0;
    int done = 0;
    boolean cmp = compressed != null;
    Acc acc = new Acc();
    int clozeOk = 0;
    int clozeOkC = 0;
    for (int i = 0; i < tasks.cloze().size(); i++) {
      ClozeItem it = tasks.cloze().get(i);
      int[] pos = {it.position()};
      float[] lo = original.cloze(i);
      if (choice(lo, it.candidates()) == it.answer()) {
        clozeOk++;
      }
      if (cmp) {
        float[] lc = compressed.maskedLogits(it.ids(), pos)[0];
        forwards++;
        if (choice(lc, it.candidates()) == it.answer()) {
          clozeOkC++;
        }
        acc.compare(lo, lc);
      }
      progress(progress, ++done);
    }
    double nll = 0;
    double nllC = 0;
    int top1 = 0;
    int top1C = 0;
    int positions = 0;
    for (int m = 0; m < tasks.mlm().size(); m++) {
      MlmItem it = tasks.mlm().get(m);
      float[][] lo = original.mlm(m);
      float[][] lc = null;
      if (cmp) {
        lc = compressed.maskedLogits(it.input(), it.positions());
        forwards++;
      }
      for (int i = 0; i < it.positions().length; i++) {
        int target = it.targets()[i];
        double[] po = logSoftmax(lo[i]);
        nll -= po[target];
        top1 += argmax(lo[i]) == target ? 1 : 0;
        if (cmp) {
          double[] pc = logSoftmax(lc[i]);
          nllC -= pc[target];
          top1C += argmax(lc[i]) == target ? 1 : 0;
          acc.compare(po, pc, lo[i], lc[i]);
        }
        positions++;
      }
      progress(progress, ++done);
    }
    forwards += original.forwards - forwardsBefore;
    double secs = (System.nanoTime() - t0) / 1e9;
    int nc = tasks.cloze().size();
    double nan = Double.NaN;
    return new EvalReport(nc, tasks.mlm().size(), positions,
        frac(clozeOk, nc), cmp ? frac(clozeOkC, nc) : nan,
        positions == 0 ? nan : Math.exp(nll / positions), cmp && positions > 0 ? Math.exp(nllC / positions) : nan,
        frac(top1, positions), cmp ? frac(top1C, positions) : nan,
        cmp ? acc.meanKl() : nan, cmp ? acc.agreement() : nan, forwards, secs);
  }

  private static void progress(IntConsumer p, int done) {
    if (p != null) {
      p.accept(done);
    }
  }

  private static double frac(int a, int n) {
    return n == 0 ? Double.NaN : (double) a / n;
  }

  /** Index (into {@code candidates}) of the candidate with the highest logit; ties go to the first. */
  static int choice(float[] logits, int[] candidates) {
    int best = 0;
    for (int i = 1; i < candidates.length; i++) {
      if (logits[candidates[i]] > logits[candidates[best]]) {
        best = i;
      }
    }
    return best;
  }

  /** Index of the largest value, the lowest index on ties. */
  public static int argmax(float[] a) {
    int b = 0;
    for (int i = 1; i < a.length; i++) {
      if (a[i] > a[b]) {
        b = i;
      }
    }
    return b;
  }

  public static double[] logSoftmax(float[] l) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : l) {
      max = Math.max(max, v);
    }
    double s = 0;
    for (float v : l) {
      s += Math.exp(v - max);
    }
    double lse = max + Math.log(s);
    double[] r = new double[l.length];
    for (int i = 0; i < l.length; i++) {
      r[i] = l[i] - lse;
    }
    return r;
  }

  /** KL(p ‖ q) for log-probabilities. */
  public static double kl(double[] logP, double[] logQ) {
    double k = 0;
    for (int i = 0; i < logP.length; i++) {
      double p = Math.exp(logP[i]);
      if (p > 0) {
        k += p * (logP[i] - logQ[i]);
      }
    }
    return Math.max(0, k);
  }

  private static final class Acc {
    double klSum;
    int agree;
    int n;

    void compare(float[] lo, float[] lc) {
      compare(logSoftmax(lo), logSoftmax(lc), lo, lc);
    }

    void compare(double[] po, double[] pc, float[] lo, float[] lc) {
      klSum += kl(po, pc);
      agree += argmax(lo) == argmax(lc) ? 1 : 0;
      n++;
    }

    double meanKl() {
      return n == 0 ? Double.NaN : klSum / n;
    }

    double agreement() {
      return n == 0 ? Double.NaN : (double) agree / n;
    }
  }
}
