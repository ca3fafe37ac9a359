package org.seedlm.pipeline.eval;

import java.util.Locale;

/**
 * Zero-shot metrics of an original model and (optionally) its compressed version on the same items.
 * Accuracies are fractions in [0, 1]; the drop is reported in percentage points. KL divergence
 * ({@code KL(original ‖ compressed)}, nats) and top-1 agreement are averaged over every masked
 * position (cloze and MLM). Compressed metrics are NaN when no compressed model was evaluated.
 */
public record EvalReport(
    int clozeItems,
    int mlmSentences,
    int mlmPositions,
    double clozeAccuracyOriginal,
    double clozeAccuracyCompressed,
    double pseudoPerplexityOriginal,
    double pseudoPerplexityCompressed,
    double mlmTop1Original,
    double mlmTop1Compressed,
    double meanKl,
    double top1Agreement,
    int forwardPasses,
    double seconds) implements ZeroShotReport {

  @Override
  public boolean hasCompressed() {
    return !Double.isNaN(clozeAccuracyCompressed);
  }

  /** Cloze accuracy lost by compression, in percentage points (positive = worse). */
  @Override
  public double accuracyDropPoints() {
    return 100.0 * (clozeAccuracyOriginal - clozeAccuracyCompressed);
  }

  /** Compressed minus original pseudo-perplexity. */
  public double perplexityIncrease() {
    return pseudoPerplexityCompressed - pseudoPerplexityOriginal;
  }

  /** Forward passes per second (one sequence each). */
  public double sentencesPerSecond() {
    return seconds > 0 ? forwardPasses / seconds : Double.NaN;
  }

  @Override
  public String format() {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "Brown zero-shot evaluation: %d cloze items (4-way), %d MLM sentences "
        + "(%d masked tokens, 15%% masked at once)%n", clozeItems, mlmSentences, mlmPositions));
    b.append(String.format(Locale.ROOT, "%-24s %12s %12s %12s%n", "metric", "original", "compressed", "difference"));
    row(b, "cloze accuracy (%)", 100 * clozeAccuracyOriginal, 100 * clozeAccuracyCompressed, "%12.2f");
    row(b, "MLM pseudo-perplexity", pseudoPerplexityOriginal, pseudoPerplexityCompressed, "%12.3f");
    row(b, "MLM top-1 accuracy (%)", 100 * mlmTop1Original, 100 * mlmTop1Compressed, "%12.2f");
    if (hasCompressed()) {
      b.append(String.format(Locale.ROOT, "%-24s %12s %12.5f%n", "mean KL(orig||comp) nats", "", meanKl));
      b.append(String.format(Locale.ROOT, "%-24s %12s %12.2f%n", "top-1 agreement (%)", "", 100 * top1Agreement));
      b.append(String.format(Locale.ROOT, "accuracy drop: %.2f points%n", accuracyDropPoints()));
    }
    b.append(String.format(Locale.ROOT, "%d forward passes in %.1f s (%.2f sentences/s)%n", forwardPasses, seconds,
        sentencesPerSecond()));
    return b.toString();
  }

  private void row(StringBuilder b, String name, double o, double c, String fmt) {
    row(b, 24, name, o, c, hasCompressed(), fmt);
  }

  /** One table row: name, original value and, when compared, compressed value and their difference. */
  public static void row(StringBuilder b, int width, String name, double o, double c, boolean cmp, String fmt) {
    b.append(String.format(Locale.ROOT, "%-" + width + "s " + fmt, name, o));
    if (cmp) {
      b.append(String.format(Locale.ROOT, " " + fmt + " " + fmt.replace("%", "%+"), c, c - o));
    }
    b.append(System.lineSeparator());
  }
}
