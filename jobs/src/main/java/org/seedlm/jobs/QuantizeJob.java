package org.seedlm.jobs;

import org.seedlm.pipeline.BadInputException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import java.util.Map;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.gpu.GpuSeedLmCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.codec.TensorCodecs;
import org.seedlm.pipeline.run.Plan;
import org.seedlm.pipeline.run.Planner;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunSpec;
import org.seedlm.pipeline.run.TensorSelection;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.run.WorkUnit;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.ConfigCheck;

/**
 * The quantize stage: plan on the driver from headers, then one Spark task per pending unit, each
 * reading its slice by byte range, encoding, writing its Parquet rows and committing the unit.
 * Running it again on the same run directory computes only the units without a commit marker. A tensor-level codec
 * ({@link TensorCodecs}) runs the same way with one unit per tensor.
 */
public final class QuantizeJob {
  private QuantizeJob() {}

  /**
   * Options of one quantize command (already resolved against defaults).
   *
   * @param model checkpoint directory or file
   * @param run run directory
   * @param codec codec name
   * @param include include patterns (empty: default selection)
   * @param exclude exclude patterns
   * @param unitBlocks blocks per unit
   * @param nonFinite fail or zero
   * @param kernel fast or reference
   * @param failUnits units that fail on purpose (test hook; empty in normal use)
   * @param progressSeconds progress line interval, 0 for none
   * @param coefficients SeedLM coefficient rule, {@code best} or {@code nearest}
   * @param groupBlocks SeedLM blocks per exponent-offset group G (0: format version 1, no offsets); null:
   *     {@link Planner#defaultGroupBlocks} of unitBlocks
   * @param device cpu, gpu or auto (where the SeedLM search runs, see {@link Kernels})
   * @param gpuOrdinal the CUDA device where Spark assigns none (local mode)
   */
  public record Options(String model, String run, String codec, List<String> include, List<String> exclude,
      int unitBlocks, String nonFinite, String kernel, Set<Integer> failUnits, double progressSeconds,
      String coefficients, Integer groupBlocks, String device, int gpuOrdinal) {

    /** Options with the default coefficient rule and G, on the CPU ({@code --device cpu}). */
    public Options(String model, String run, String codec, List<String> include, List<String> exclude,
        int unitBlocks, String nonFinite, String kernel, Set<Integer> failUnits, double progressSeconds) {
      this(model, run, codec, include, exclude, unitBlocks, nonFinite, kernel, failUnits, progressSeconds,
          CoefficientRule.DEFAULT.label(), null, "cpu", 0);
    }

    /** The format version 2 codec parameters these options ask for ({@link Codecs#parse(String, Map)}). */
    public Map<String, String> codecParams() {
      CoefficientRule.parse(coefficients, "--coefficients");
      int g = groupBlocks != null ? groupBlocks : Planner.defaultGroupBlocks(unitBlocks);
      return Map.of(SeedLmCodec.PARAM_COEFFICIENTS, coefficients, SeedLmCodec.PARAM_GROUP_BLOCKS,
          Integer.toString(g));
    }
  }

  /**
   * What a quantize command did.
   *
   * @param plan the plan
   * @param pendingBefore units that had to be computed
   * @param outcomes one per computed unit
   * @param seconds wall time of the compute stage
   */
  public record Result(Plan plan, int pendingBefore, List<UnitRunner.Outcome> outcomes, double seconds) {
    public List<UnitRunner.Outcome> failures() {
      return outcomes.stream().filter(o -> !o.committed()).toList();
    }

    public long blocksComputed() {
      return outcomes.stream().mapToLong(UnitRunner.Outcome::blocks).sum();
    }
  }

  /**
   * The codec a quantize command asks for, resolved on the driver: a tensor-level codec ({@link TensorCodecs}: each
   * tensor encoded whole, one unit and one row per tensor; {@code block} null) or a block codec from the kernel
   * provider.
   */
  record ChosenCodec(String name, Map<String, String> params, BlockCodec block) {
    boolean tensorLevel() {
      return block == null;
    }

    /** The plan of {@code sources}: whole tensors, or units of {@code unitBlocks} blocks. */
    Plan plan(List<Planner.SourceTensor> sources, TensorSelection selection, int unitBlocks) {
      return tensorLevel() ? Planner.planTensors(sources, selection, name)
          : Planner.plan(sources, selection, block.blockSize(), unitBlocks, block.groupBlocks());
    }
  }

  /** Resolves (and so checks) the codec of {@code o}; a bad tensor codec name or parameter names {@code --codec}. */
  static ChosenCodec codec(Options o) {
    if (!TensorCodecs.isTensorCodecName(o.codec())) {
      BlockCodec c = Kernels.provider(o.kernel(), o.device(), o.gpuOrdinal()).codec(o.codec(), o.codecParams());
      return new ChosenCodec(c.name(), c.params(), c);
    }
    try {
      TensorCodec c = TensorCodecs.parse(o.codec());
      return new ChosenCodec(c.name(), c.params(), null);
    } catch (BadInputException e) {
      throw new BadInputException(e.getMessage() + " (set --codec)", e);
    }
  }

  public static Result run(SparkSession spark, Options o, PrintStream out) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    ChosenCodec codec = codec(o);
    RunDirectory run = RunDirectory.at(o.run(), conf);
    Plan plan;
    RunSpec spec;
    try (Checkpoint ckpt = Checkpoint.open(new Path(o.model()), conf)) {
      ConfigCheck.check(ckpt); // a config.json of another model is refused before the run directory is touched
      spec = new RunSpec(RunSpec.FORMAT, RunSpec.VERSION, ckpt.modelDirectory().toString(), ckpt.fingerprint(),
          codec.name(), codec.params(), o.include(), o.exclude(), o.unitBlocks(), o.nonFinite(),
          ckpt.contentFingerprint());
      List<Planner.SourceTensor> sources = new ArrayList<>();
      ckpt.tensors().values().forEach(t -> sources.add(new Planner.SourceTensor(t.shard(), t.info())));
      plan = codec.plan(sources, new TensorSelection(o.include(), o.exclude()), o.unitBlocks());
    }
    if (plan.tensors().isEmpty()) {
      throw new BadInputException(String.format(
          "Cannot quantize %s: no tensor matches the selection (include %s, exclude %s); list the tensors "
              + "with `seedlm tensors --model %s`", o.model(), o.include(), o.exclude(), o.model()));
    }
    run.initOrCheck(spec).forEach(n -> out.println("[quantize] not recorded: " + n));
    run.writeOrCheckPlan(plan);
    List<WorkUnit> pending = run.pendingUnits(plan);
    out.printf("[quantize] %s: %d tensors, %,d weights, %,d blocks in %d units; %d units to compute (%s, %s)%n",
        o.run(), plan.tensors().size(), plan.numWeights(), plan.numBlocks(), plan.numUnits(), pending.size(),
        codec.name(), codec.tensorLevel() ? "tensor-level: one unit per tensor"
            : o.kernel() + (codec.block() instanceof GpuSeedLmCodec g ? " on " + g.device().describe() : ""));
    if (!plan.keptWeightsByReason().isEmpty()) {
      out.printf("[quantize] kept 2-D/3-D float weights by reason: %s (list them with `seedlm tensors --model %s`)%n",
          plan.keptWeightsByReason(), o.model());
    }
    if (pending.isEmpty()) {
      if (!run.hasCommitIndex()) {
        run.writeCommitIndex(plan.numUnits()); // a run completed before commit indexes
      }
      return new Result(plan, 0, List.of(), 0);
    }
    run.deleteCommitIndex(); // units are computed again: the index would no longer list every marker

    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    UnitRunner.Context ctx = new UnitRunner.Context(o.run(), spec.model(), spec, Kernels.provider(o.kernel(), o.device(), o.gpuOrdinal()),
        o.failUnits());
    Broadcast<SerializableConf> hadoopConf = jsc.broadcast(new SerializableConf(conf));
    LongAccumulator unitsDone = spark.sparkContext().longAccumulator("seedlm.units");
    LongAccumulator blocksDone = spark.sparkContext().longAccumulator("seedlm.blocks");
    LongAccumulator unitsFailed = spark.sparkContext().longAccumulator("seedlm.failed");
    long pendingBlocks = pending.stream().mapToLong(WorkUnit::numBlocks).sum();
    spark.sparkContext().setJobGroup("SEEDLM-QUANTIZE",
        String.format("Quantizing %d units of %s with %s", pending.size(), o.model(), codec.name()), false);
    long t0 = System.nanoTime();
    List<UnitRunner.Outcome> outcomes;
    try (Progress p = new Progress("quantize", pending.size(), pendingBlocks, unitsDone::value, blocksDone::value,
        unitsFailed::value, o.progressSeconds(), out)) {
      outcomes = jsc.parallelize(pending, pending.size())
          .map(u -> {
            UnitRunner.Outcome r = UnitRunner.run(ctx, hadoopConf.value().get(), u);
            unitsDone.add(1);
            blocksDone.add(r.blocks());
            unitsFailed.add(r.error() == null ? 0 : 1);
            return r;
          })
          .collect();
    } finally {
      spark.sparkContext().clearJobGroup();
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    Result result = new Result(plan, pending.size(), outcomes, secs);
    out.printf("[quantize] computed %d units (%,d blocks) in %s: %,.0f blocks/s; %d failed%n",
        outcomes.size() - result.failures().size(), result.blocksComputed(), Progress.duration(secs),
        result.blocksComputed() / Math.max(secs, 1e-9), result.failures().size());
    for (UnitRunner.Outcome f : result.failures()) {
      out.printf("[quantize] unit %d (%s) FAILED: %s%n", f.unit(), f.tensor(), f.error());
    }
    if (!result.failures().isEmpty()) {
      out.printf("[quantize] run the same command again to compute the %d failed units%n", result.failures().size());
    } else if (run.writeCommitIndex(plan.numUnits())) {
      out.printf("[quantize] wrote %s: the %d commit markers in one file, for fast reads of the run%n",
          run.path(RunDirectory.COMMIT_INDEX), plan.numUnits());
    }
    return result;
  }
}
