package org.seedlm.jobs;

import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.run.UnitRunner;

/** Picks the codec implementations a job runs: the fast kernel or the plain reference. */
final class Kernels {
  private Kernels() {}

  static UnitRunner.CodecProvider provider(String kernel) {
    return switch (kernel) {
      case "reference" -> Codecs::parse;
      case "fast" -> Codecs::parse; // replaced by the SIMD search once it lands
      default -> throw new IllegalArgumentException(String.format(
          "Cannot use kernel \"%s\": expected fast or reference (set --kernel)", kernel));
    };
  }
}
