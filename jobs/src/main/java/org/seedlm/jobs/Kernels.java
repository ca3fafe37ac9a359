package org.seedlm.jobs;

import java.util.Optional;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.gpu.Devices;
import org.seedlm.pipeline.gpu.GpuSeedLmCodec;
import org.seedlm.pipeline.gpu.SeedLmAccelerator;
import org.seedlm.pipeline.kernel.FastSeedLmCodec;
import org.seedlm.pipeline.kernel.FastSeedSearch;
import org.seedlm.pipeline.run.UnitRunner;
import org.slf4j.LoggerFactory;

/**
 * Picks the codec implementations a job runs: the fast kernel (default) or the plain reference, on
 * the CPU or (SeedLM search, {@code --device gpu|auto}) on a GPU through {@link Devices}.
 */
final class Kernels {
  private Kernels() {}

  /** Codecs for Spark tasks on the CPU: one search thread per task, since Spark runs one task per core. */
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

  /**
   * Codecs for Spark tasks on {@code device} (cpu, gpu, auto): a SeedLM codec searches on the GPU
   * Spark assigned to the task ({@link #gpuOrdinal}), other codecs and the CPU path as {@link
   * #provider(String)}.
   */
  static UnitRunner.CodecProvider provider(String kernel, String device, int gpuOrdinal) {
    UnitRunner.CodecProvider cpu = provider(kernel);
    String d = Devices.check(device);
    if (d.equals(Devices.CPU)) return cpu;
    return (name, params) -> {
      BlockCodec c = cpu.codec(name, params);
      if (!(c instanceof FastSeedLmCodec || c instanceof SeedLmCodec)) return c;
      Optional<SeedLmAccelerator> acc = Devices.open(d, gpuOrdinal(gpuOrdinal), m -> LoggerFactory.getLogger(Kernels.class).warn(m));
      SeedLmCodec ref = c instanceof FastSeedLmCodec f ? f.reference() : (SeedLmCodec) c;
      return acc.<BlockCodec>map(a -> new GpuSeedLmCodec(ref, a)).orElse(c);
    };
  }

  /**
   * The GPU of this Spark task: the first address of its {@code gpu} resource
   * ({@code spark.task.resource.gpu.amount}), else {@code fallback} (local mode, where Spark does not
   * schedule resources, or outside a task).
   */
  static int gpuOrdinal(int fallback) {
    TaskContext tc = TaskContext.get();
    scala.Option<ResourceInformation> gpu = tc == null ? scala.Option.empty() : tc.resources().get("gpu");
    if (gpu.isEmpty() || gpu.get().addresses().length == 0) return fallback;
    return Integer.parseInt(gpu.get().addresses()[0].trim());
  }

  private static BlockCodec fast(String name, java.util.Map<String, String> params, int threads) {
    BlockCodec c = Codecs.parse(name, params);
    return c instanceof SeedLmCodec s ? new FastSeedLmCodec(s, threads, FastSeedSearch.defaultVectorBitSize()) : c;
  }
}
