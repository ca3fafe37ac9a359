package org.seedlm.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.run.Plan;
import org.seedlm.pipeline.run.Planner;
import org.seedlm.pipeline.run.Projection;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.TensorSelection;
import org.seedlm.pipeline.safetensors.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code seedlm project}: what a run of a model would take (plan, bytes, core-hours), before running it. */
@Command(name = "project", mixinStandardHelpOptions = true,
    description = {"Project a run before starting it: tensors, blocks and units of the plan, packed-model bytes, "
        + "block-table bytes and core-hours of the search, from rates measured here (or on a finished run).",
        "Reads only the checkpoint's headers (--model), or uses a published shape (--shape)."})
final class Project implements Callable<Integer> {
  @Option(names = "--model", description = "Checkpoint directory or file (headers only are read)")
  String model;

  @Option(names = "--shape", description = "A published shape instead of a checkpoint: llama-2-7b, llama-2-70b, "
      + "llama-3-70b, llama-3.1-405b, mistral-7b")
  String shape;

  @Option(names = "--codec", description = "Codec (default: ${DEFAULT-VALUE})")
  String codec = "seedlm-4bit";

  @Option(names = "--unit-blocks", description = "Blocks per work unit (default: the quantize default, "
      + SeedLmConf.UNIT_BLOCKS_DEFAULT + ")")
  Integer unitBlocks;

  @Option(names = "--include", description = "Regex of tensors to quantize (repeatable; default: all linear "
      + "weights of the transformer blocks)")
  List<String> include = new ArrayList<>();

  @Option(names = "--exclude", description = "Regex of tensors to keep (repeatable)")
  List<String> exclude = new ArrayList<>();

  @Option(names = "--from-run", description = "A finished run of this codec: its block-table bytes per block and "
      + "blocks per task-second (from the commit markers) instead of a rate measured here")
  String fromRun;

  @Option(names = "--sigma", description = "Without --from-run: standard deviation of the Gaussian blocks the rate "
      + "is measured on (default: ${DEFAULT-VALUE}, the scale of trained Llama weights)")
  double sigma = 0.02;

  @Option(names = "--seconds", description = "Without --from-run: seconds to measure the rate (default: "
      + "${DEFAULT-VALUE})")
  double seconds = 5;

  @Mixin
  Cli.HadoopOptions hadoop = new Cli.HadoopOptions();

  @Override
  public Integer call() throws Exception {
    if ((model == null) == (shape == null)) {
      throw new BadInputException("Cannot project: give exactly one of --model DIR and --shape NAME");
    }
    if (!(sigma > 0) || !(seconds > 0)) {
      throw new BadInputException("Cannot project: --sigma and --seconds must be > 0");
    }
    BlockCodec c = Kernels.provider(SeedLmConf.KERNEL_DEFAULT, 1).codec(codec);
    List<Planner.SourceTensor> src = new ArrayList<>();
    String name;
    if (shape != null) {
      src = Projection.shape(shape);
      Projection.Shape s = Projection.SHAPES.get(shape);
      name = String.format(Locale.ROOT, "%s (published shape: %d layers, hidden %d, intermediate %d, KV dim %d, "
          + "vocab %d; BF16)", s.name(), s.layers(), s.hidden(), s.intermediate(), s.kvDim(), s.vocab());
    } else {
      try (Checkpoint ck = Checkpoint.open(new Path(model), hadoop.hadoopConf())) {
        for (Checkpoint.Tensor t : ck.tensors().values()) {
          src.add(new Planner.SourceTensor(t.shard(), t.info()));
        }
      }
      name = model;
    }
    int ub = unitBlocks != null ? unitBlocks : SeedLmConf.UNIT_BLOCKS_DEFAULT;
    Plan plan = Planner.plan(src, new TensorSelection(include, exclude), c.blockSize(), ub);
    double parquet = Double.NaN;
    String parquetSource = null;
    double rate;
    String rateSource;
    if (fromRun != null) {
      RunDirectory run = RunDirectory.at(fromRun, hadoop.hadoopConf());
      String runCodec = run.readSpec().codec();
      if (!runCodec.equals(c.name())) {
        throw new BadInputException("Cannot project " + c.name() + " from " + fromRun + ": that run used " + runCodec
            + " (give a run of the same codec, or set --codec " + runCodec + ")");
      }
      double[] m = Projection.measuredOnRun(run);
      parquet = m[0];
      parquetSource = "measured on " + fromRun;
      rate = m[1];
      rateSource = "measured on " + fromRun + ": blocks per task-second of its units";
    } else {
      System.err.printf(Locale.ROOT, "[project] measuring %s on 1 thread for %.0f s (Gaussian blocks, sigma %s)...%n",
          c.name(), seconds, sigma);
      rate = Projection.measureRate(c, sigma, seconds);
      rateSource = String.format(Locale.ROOT, "measured here: fast kernel, 1 thread, Gaussian blocks of sigma %s", sigma);
    }
    System.out.print(new Projection(name, plan, c.name(), c.bitsPerBlock(), Projection.keptBytes(src, plan), parquet,
        parquetSource, rate, rateSource).format());
    return Cli.OK;
  }
}
