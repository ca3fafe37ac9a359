package org.seedlm.pipeline.kernel;

import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * K = 16 agreement of {@link FastSeedSearch} under the rule {@code best} with the reference arg-min
 * over all 2^16 - 1 seeds (the oracle of {@link K16ExactnessTest}), on many more blocks than a unit
 * test can afford: prints, per config and distribution, how many blocks were checked and how many
 * differ (seed, e, q or error). Exit status 1 when any block differs.
 *
 * <p>Arguments (all optional): blocks per distribution (default 2000), G (default {@value
 * SeedLmCodec#DEFAULT_GROUP_BLOCKS}), then distributions (default: Gaussian sigma 1 and 0.002, each
 * with and without 0.1 % outliers at 10 sigma; names of {@code FastSeedSearchTest.blocks}).
 */
public final class K16BestCheck {
  static final String[] KINDS = {"gauss", "gauss-2e-3", "gauss-outliers", "gauss-2e-3-outliers"};

  public static void main(String[] args) {
    int nb = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int g = args.length > 1 ? Integer.parseInt(args[1]) : SeedLmCodec.DEFAULT_GROUP_BLOCKS;
    String[] kinds = args.length > 2 ? java.util.Arrays.copyOfRange(args, 2, args.length) : KINDS;
    long blocks = 0, mismatches = 0;
    for (SeedLmParams prm : new SeedLmParams[] {SeedLmParams.FOUR_BIT, SeedLmParams.THREE_BIT}) {
      for (String kind : kinds) {
        K16ExactnessTest.Outcome out = K16ExactnessTest.compare(prm, kind, nb, g, CoefficientRule.BEST);
        System.out.println(out);
        blocks += out.blocks();
        mismatches += out.mismatches();
      }
    }
    System.out.printf("total: %d blocks checked, %d mismatches%n", blocks, mismatches);
    System.exit(mismatches == 0 ? 0 : 1);
  }
}
