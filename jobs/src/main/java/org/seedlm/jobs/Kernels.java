package org.seedlm.jobs;

import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.kernel.FastSeedLmCodec;
import org.seedlm.pipeline.kernel.FastSeedSearch;
import org.seedlm.pipeline.run.UnitRunner;

/** Picks the codec implementations a job runs: the fast kernel (default) or the plain reference. */
final class Kernels {
  private Kernels() {}

  /** Codecs for Spark tasks: one search thread per task, since Spark runs one task per core. */
  static UnitRunner.CodecProvider provider(String kernel) {
    return provider(kernel, 1);
  }

  /** Codecs whose SeedLM search uses {@code threads} threads (for commands that run outside Spark). */
  static UnitRunner.CodecProvider provider(String kernel, int threads) {
    return switch (kernel) {
      case "reference" -> Codecs::parse;
      case "fast" -> (name, params) -> fast(name, params, threads);
      default -> throw new BadInputException(String.format(
          "Cannot use kernel \"%s\": expected fast or reference (set --kernel)", kernel));
    };
  }

  private static BlockCodec fast(String name, java.util.Map<String, String> params, int threads) {
    BlockCodec c = Codecs.parse(name, params);
    return c instanceof SeedLmCodec s ? new FastSeedLmCodec(s, threads, FastSeedSearch.defaultVectorBitSize()) : c;
  }
}
