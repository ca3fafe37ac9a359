package org.seedlm.pipeline.alloc;

import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.RunDirectory;

/**
 * The sensitivity-weighted objective of {@code seedlm allocate --objective kl}: per tensor, the mean zero-shot KL
 * (original against the model in which only that tensor is replaced by one run's decoded tensor, every other tensor
 * kept original), measured once per tensor and codec and stored in that run as {@value #FILE}. This class is the
 * one reader and writer of that file.
 *
 * <p>The file names the model fingerprint, the codec and the evaluation's settings; a file written for another
 * model, codec or settings is not used: it is measured again (and replaced), with a line saying why. It is
 * rewritten after every tensor, so an interrupted measurement resumes where it stopped.
 */
public final class Sensitivity {
  /** The file in a run directory. */
  public static final String FILE = "sensitivity.json";
  public static final String FORMAT = "seedlm-sensitivity";
  public static final int VERSION = 1;

  private Sensitivity() {}

  /** What {@value #FILE} holds: what was measured and how, and per tensor the mean KL in nats. */
  public record Stored(String format, int version, String modelFingerprint, String codec, String evaluation,
      Map<String, Double> kl) {}

  /** The mean KL of the original model against the model with only {@code tensor} replaced by {@code decoded}. */
  @FunctionalInterface
  public interface Measure {
    double kl(String tensor, float[] decoded) throws IOException;
  }

  /** The mean KL of the original model against the model with only {@code tensor} quantized. */
  @FunctionalInterface
  interface TensorMeasure {
    double kl(String tensor) throws IOException;
  }

  /**
   * Per tensor of {@code costs} (in its order), the KL with only that tensor taken from the run's packed model,
   * reused from {@value #FILE} when it was measured with the same model, codec and {@code evaluation}, else
   * measured (one line per tensor on {@code out}) and stored.
   */
  public static Map<String, Double> of(RunDirectory run, TensorCosts costs, String evaluation, Measure measure,
      PrintStream out) throws IOException {
    if (!run.fs().exists(run.path(RunDirectory.PACKED + "/" + PackedFormat.MANIFEST))) {
      throw new BadInputException("Cannot measure the KL objective on run " + run.root() + ": it is not assembled "
          + "(run `seedlm assemble --run " + run.root() + "` first)");
    }
    try (PackedModel pm = PackedModel.open(run.path(RunDirectory.PACKED), run.conf())) {
      return of(run, costs, evaluation, t -> measure.kl(t, pm.decode(t)), out);
    }
  }

  static Map<String, Double> of(RunDirectory run, TensorCosts costs, String evaluation, TensorMeasure measure,
      PrintStream out) throws IOException {
    List<String> tensors = List.copyOf(costs.tensors().keySet());
    Map<String, Double> kl = new TreeMap<>(stored(run, costs, evaluation, out));
    kl.keySet().retainAll(tensors);
    int measured = 0;
    for (int i = 0; i < tensors.size(); i++) {
      String t = tensors.get(i);
      if (kl.containsKey(t)) {
        continue;
      }
      long t0 = System.nanoTime();
      double v = measure.kl(t);
      if (!Double.isFinite(v)) {
        throw new IllegalStateException("the KL of " + t + " quantized with " + costs.codec() + " is " + v);
      }
      kl.put(t, v);
      run.writeJsonReplacing(run.path(FILE), new Stored(FORMAT, VERSION, costs.modelFingerprint(), costs.codec(),
          evaluation, kl));
      measured++;
      out.printf(Locale.ROOT, "[sensitivity] %s: tensor %d of %d, %s quantized alone: KL %.5f (%.1f s)%n",
          costs.codec(), i + 1, tensors.size(), t, v, (System.nanoTime() - t0) / 1e9);
    }
    if (measured == 0) {
      out.printf("[sensitivity] %s: %d tensors, every KL reused from %s%n", costs.codec(), tensors.size(),
          run.path(FILE));
    }
    Map<String, Double> ordered = new LinkedHashMap<>();
    tensors.forEach(t -> ordered.put(t, kl.get(t)));
    return ordered;
  }

  /** The stored values that apply (same format, model, codec and evaluation), else none, saying why. */
  private static Map<String, Double> stored(RunDirectory run, TensorCosts costs, String evaluation, PrintStream out)
      throws IOException {
    if (!run.fs().exists(run.path(FILE))) {
      return Map.of();
    }
    Stored s = run.readJson(run.path(FILE), Stored.class);
    String why = !FORMAT.equals(s.format()) || s.version() != VERSION ? "format " + s.format() + " " + s.version()
        : !costs.modelFingerprint().equals(s.modelFingerprint()) ? "another model (fingerprint " + s.modelFingerprint()
        + ")" : !costs.codec().equals(s.codec()) ? "another codec (" + s.codec() + ")"
        : !evaluation.equals(s.evaluation()) ? "other evaluation settings (" + s.evaluation() + ")" : null;
    if (why != null || s.kl() == null) {
      out.printf("[sensitivity] %s was measured with %s: measuring %s again (%s)%n", run.path(FILE),
          why == null ? "no values" : why, costs.codec(), evaluation);
      return Map.of();
    }
    return s.kl();
  }
}
