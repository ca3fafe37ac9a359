package org.seedlm.pipeline.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.seedlm.pipeline.pack.PackedFormat.TensorMeta;
import org.seedlm.pipeline.pack.PackedModel;

/**
 * The publish gate, for every model family ({@link ZeroShotReport}): a compressed model fails when its
 * cloze accuracy drops by more than a limit (in
 * percentage points) or, when a KL limit is set, its mean KL divergence exceeds it.
 *
 * <p>Default accuracy limits by the packed model's bits per weight (rounded to the nearest integer):
 * 4 or more bits: {@value #DROP_4BIT} points; 3 bits: {@value #DROP_3BIT} points; 2 bits or fewer:
 * {@value #DROP_2BIT} points. No default KL limit.
 */
public final class EvalGate {
  /** Exit code of {@code seedlm eval} when the gate fails. */
  public static final int EXIT_GATE_FAILED = 4;
  public static final double DROP_4BIT = 2.0;
  public static final double DROP_3BIT = 6.0;
  public static final double DROP_2BIT = 10.0;

  /** Rounding slack on limits (a drop of exactly the limit passes). */
  static final double TOLERANCE = 1e-9;

  private EvalGate() {}

  /** The default maximum accuracy drop, in points, for a bit width. */
  public static double defaultMaxDropPoints(double bitsPerWeight) {
    long b = Math.round(bitsPerWeight);
    return b >= 4 ? DROP_4BIT : b == 3 ? DROP_3BIT : DROP_2BIT;
  }

  /** Weighted mean bits per weight of the quantized tensors (NaN if none). */
  public static double bitsPerWeight(PackedModel pm) throws java.io.IOException {
    double bits = 0;
    double weights = 0;
    for (Map.Entry<String, TensorMeta> e : pm.quantized().entrySet()) {
      bits += pm.storedBits(e.getKey());
      weights += e.getValue().numel();
    }
    return weights == 0 ? Double.NaN : bits / weights;
  }

  /** The reasons the report fails the gate (empty = pass). {@code maxKl} NaN = no KL limit. */
  public static List<String> violations(ZeroShotReport r, double maxDropPoints, double maxKl) {
    List<String> v = new ArrayList<>();
    if (!r.hasCompressed()) {
      return v;
    }
    if (!(r.accuracyDropPoints() <= maxDropPoints + TOLERANCE)) {
      v.add(String.format(Locale.ROOT, "cloze accuracy dropped %.2f points (limit %.2f)", r.accuracyDropPoints(),
          maxDropPoints));
    }
    if (!Double.isNaN(maxKl) && !(r.meanKl() <= maxKl + TOLERANCE)) {
      v.add(String.format(Locale.ROOT, "mean KL %.5f nats exceeds %.5f", r.meanKl(), maxKl));
    }
    return v;
  }

  /** 0 when the report passes, {@link #EXIT_GATE_FAILED} otherwise. */
  public static int exitCode(ZeroShotReport r, double maxDropPoints, double maxKl) {
    return violations(r, maxDropPoints, maxKl).isEmpty() ? 0 : EXIT_GATE_FAILED;
  }
}
