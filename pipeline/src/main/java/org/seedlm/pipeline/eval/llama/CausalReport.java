package org.seedlm.pipeline.eval.llama;

import java.util.Locale;
import org.seedlm.pipeline.eval.EvalReport;
import org.seedlm.pipeline.eval.ZeroShotReport;

/**
 * Zero-shot metrics of a causal LM and (optionally) its compressed version on the same {@link CausalTasks}
 * and self-generated passages. Accuracies are fractions in [0, 1]; the gate's drop is {@code acc} in
 * percentage points. KL(original ‖ compressed) of the next-token distributions and top-1 agreement are
 * averaged over every position of the perplexity and self-generated passages. Compressed metrics are NaN
 * when no compressed model was evaluated.
 */
public record CausalReport(
    int passages,
    int passageTokens,
    double perplexityOriginal,
    double perplexityCompressed,
    int clozeItems,
    double accOriginal,
    double accCompressed,
    double accNormOriginal,
    double accNormCompressed,
    int generated,
    int generatedTokens,
    double generatedNllOriginal,
    double generatedNllCompressed,
    int comparedPositions,
    double meanKl,
    double top1Agreement,
    int sequences,
    double seconds) implements ZeroShotReport {

  @Override
  public boolean hasCompressed() {
    return !Double.isNaN(perplexityCompressed) || !Double.isNaN(accCompressed) || !Double.isNaN(meanKl);
  }

  @Override
  public double accuracyDropPoints() {
    return 100.0 * (accOriginal - accCompressed);
  }

  @Override
  public String format() {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "Causal zero-shot evaluation: %d Brown passages (%d tokens), %d cloze items "
        + "(4-way, log-likelihood), %d self-generated passages (%d tokens)%n", passages, passageTokens, clozeItems,
        generated, generatedTokens));
    b.append(String.format(Locale.ROOT, "%-28s %12s %12s %12s%n", "metric", "original", "compressed", "difference"));
    row(b, "Brown perplexity", perplexityOriginal, perplexityCompressed, "%12.3f");
    row(b, "cloze acc (%)", 100 * accOriginal, 100 * accCompressed, "%12.2f");
    row(b, "cloze acc_norm (%)", 100 * accNormOriginal, 100 * accNormCompressed, "%12.2f");
    row(b, "self-generated NLL/token", generatedNllOriginal, generatedNllCompressed, "%12.4f");
    if (hasCompressed()) {
      b.append(String.format(Locale.ROOT, "%-28s %12s %12.5f%n", "mean KL(orig||comp) nats", "", meanKl));
      b.append(String.format(Locale.ROOT, "%-28s %12s %12.2f%n", "top-1 agreement (%)", "", 100 * top1Agreement));
      b.append(String.format(Locale.ROOT, "accuracy drop: %.2f points%n", accuracyDropPoints()));
    }
    b.append(String.format(Locale.ROOT, "%d sequences in %.1f s%n", sequences, seconds));
    return b.toString();
  }

  private void row(StringBuilder b, String name, double o, double c, String fmt) {
    EvalReport.row(b, 28, name, o, c, hasCompressed(), fmt);
  }
}
