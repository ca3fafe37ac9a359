package org.seedlm.pipeline.tools;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.kernel.FastSeedLmCodec;
import org.seedlm.pipeline.kernel.FastSeedSearch;

/**
 * The weight-scale table of SPEC section 4b: relative error {@code sqrt(sum err / sum w^2)} of a SeedLM
 * config on Gaussian tensors of standard deviation 1, 0.05, 0.01, 0.005, 0.002 and 0.0005, without and
 * with 0.1 % outliers at 10 sigma, for format version 1 (rule nearest, no offsets) and version 2 (offsets
 * per group of G = 4096 blocks, rule nearest and best). Each tensor is {@code rows} rows of 4,096 weights
 * (default 8: 32,768 weights, one group for the 4-bit config), drawn from one seed, so every column sees
 * the same values up to the scale. Encoding uses the fast kernel (exact: the reference's result).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp ... org.seedlm.pipeline.tools.ScaleTable [config [rows [threads]]]
 * </pre>
 */
public final class ScaleTable {
  private ScaleTable() {}

  static final double[] SIGMAS = {1, 0.05, 0.01, 0.005, 0.002, 0.0005};

  public static void main(String[] args) {
    SeedLmParams prm = SeedLmParams.named(args.length > 0 ? args[0] : "seedlm-4bit");
    int rows = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
    int vbs = FastSeedSearch.defaultVectorBitSize();
    List<BlockCodec> codecs = List.of(
        new FastSeedLmCodec(new SeedLmCodec(prm, CoefficientRule.NEAREST, 0), threads, vbs),
        new FastSeedLmCodec(new SeedLmCodec(prm, CoefficientRule.NEAREST, SeedLmCodec.DEFAULT_GROUP_BLOCKS), threads,
            vbs),
        new FastSeedLmCodec(new SeedLmCodec(prm, CoefficientRule.BEST, SeedLmCodec.DEFAULT_GROUP_BLOCKS), threads,
            vbs));
    System.out.printf(Locale.ROOT, "%s: relative error on Gaussian tensors of %d x 4096 weights (seed 42)%n",
        prm.name(), rows);
    StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-9s %-9s", "sigma", "outliers"));
    for (BlockCodec c : codecs) {
      head.append(String.format(Locale.ROOT, " %26s", c.label() + " (" + String.format(Locale.ROOT, "%.5f",
          c.bitsPerWeight()) + ")"));
    }
    System.out.println(head);
    for (boolean outliers : new boolean[] {false, true}) {
      List<double[]> errs = new ArrayList<>();
      for (double sigma : SIGMAS) {
        float[] w = gaussian(rows * 4096, sigma, outliers);
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-9s %-9s", sigma,
            outliers ? "0.1%@10s" : "none"));
        double[] e = new double[codecs.size()];
        int i = 0;
        for (CodecComparison.Row r : CodecComparison.compare(new CodecComparison.Sample(w, rows, 4096), codecs.stream().<org.seedlm.pipeline.codec.TensorCodec>map(org.seedlm.pipeline.codec.BlockTensorCodec::new).toList())) {
          e[i++] = r.stats().relativeError();
          line.append(String.format(Locale.ROOT, " %26.4f", r.stats().relativeError()));
        }
        errs.add(e);
        System.out.println(line);
      }
      StringBuilder spread = new StringBuilder(String.format(Locale.ROOT, "%-19s", "worst / sigma=1"));
      for (int c = 0; c < codecs.size(); c++) {
        double worst = 0;
        for (double[] e : errs) worst = Math.max(worst, e[c] / errs.get(0)[c]);
        spread.append(String.format(Locale.ROOT, " %26.3f", worst));
      }
      System.out.println(spread);
    }
  }

  /** N(0, sigma^2) weights (seed 42); with outliers, every 1000th weight (0.1 %) is 10 sigma with a random sign. */
  static float[] gaussian(int n, double sigma, boolean outliers) {
    Random r = new Random(42);
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      double g = r.nextGaussian();
      boolean sign = r.nextBoolean();
      w[i] = (float) (sigma * (outliers && i % 1000 == 999 ? (sign ? 10 : -10) : g));
    }
    return w;
  }
}
