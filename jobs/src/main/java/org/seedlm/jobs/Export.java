package org.seedlm.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.ReplacingWrite;
import org.seedlm.pipeline.alloc.MixedModel;
import org.seedlm.pipeline.pack.Exporter;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code seedlm export}: the decoded model of an assembled run as a standard Hugging Face checkpoint
 * ({@link Exporter}): plan the shards on the driver, write each in its own Spark task, then the index and
 * the side files on the driver.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Write the decoded model of an assembled run as a standard Hugging Face checkpoint (the source's "
        + "tensor names, shapes, shards and order; quantized tensors decoded and cast to --dtype, kept tensors copied "
        + "byte for byte; config.json with torch_dtype; tokenizer and generation files copied), for "
        + "transformers, lm-evaluation-harness or vLLM.")
final class Export implements Callable<Integer> {
  @Option(names = "--run", required = true, description = "Run directory (assembled with `seedlm assemble`)")
  String run;

  @Option(names = "--out", required = true, description = "Output directory: new or empty (file:, hdfs:, s3a:)")
  String out;

  @Option(names = "--dtype", description = "Dtype of the decoded tensors: bf16, f16 or f32 (default: "
      + "${DEFAULT-VALUE})")
  String dtype = "bf16";

  @Mixin
  Cli.SparkOptions spark = new Cli.SparkOptions();

  @Override
  public Integer call() throws Exception {
    DType d = Exporter.parseDType(dtype); // refuse a bad dtype before starting Spark
    SeedLmConf c = SeedLmConf.load();
    SparkSession s = spark.session("seedlm export", c);
    try {
      run(s, run, out, d, c.progressSeconds(), System.err);
      return Cli.OK;
    } finally {
      s.stop();
    }
  }

  /** Exports the packed model of {@code runDir} to {@code outDir}; progress and the summary go to {@code log}. */
  static Exporter.Plan run(SparkSession spark, String runDir, String outDir, DType dtype, double progressSeconds,
      PrintStream log) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    RunDirectory rd = RunDirectory.at(runDir, conf);
    Path packedDir = rd.path(RunDirectory.PACKED);
    if (!rd.fs().exists(new Path(packedDir, PackedFormat.MANIFEST))) {
      throw new BadInputException(String.format("Cannot export run %s: it is not assembled (no %s/%s; run `seedlm "
          + "assemble --run %s` first)", runDir, RunDirectory.PACKED, PackedFormat.MANIFEST, runDir));
    }
    Path out = new Path(outDir);
    Exporter.Plan plan;
    try (PackedModel packed = PackedModel.open(packedDir, conf);
        Checkpoint source = Checkpoint.open(new Path(MixedModel.spec(rd).model()), conf)) {
      plan = Exporter.plan(packed, source, dtype, conf);
    }
    Exporter.prepareOutput(out, conf);
    log.printf("[export] %s: %d tensors (%d decoded to %s, %d copied) into %d file(s) under %s%n", runDir,
        plan.tensors(), plan.decoded(), dtype, plan.tensors() - plan.decoded(), plan.shards().size(), outDir);
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<SerializableConf> hadoopConf = jsc.broadcast(new SerializableConf(conf));
    LongAccumulator shardsDone = spark.sparkContext().longAccumulator("seedlm.export.shards");
    LongAccumulator tensorsDone = spark.sparkContext().longAccumulator("seedlm.export.tensors");
    String packedPath = packedDir.toString();
    spark.sparkContext().setJobGroup("SEEDLM-EXPORT", "Exporting " + runDir + " to " + outDir, false);
    List<ReplacingWrite.Written> written;
    try (Progress p = new Progress("export", "shards", plan.shards().size(), shardsDone::value, "tensors",
        plan.tensors(), tensorsDone::value, null, progressSeconds, log)) {
      written = jsc.parallelize(plan.shards(), plan.shards().size())
          .map(shard -> {
            ReplacingWrite.Written w = Exporter.writeShard(new Path(packedPath), new Path(outDir), shard,
                () -> tensorsDone.add(1), hadoopConf.value().get());
            shardsDone.add(1);
            return w;
          })
          .collect();
    } finally {
      spark.sparkContext().clearJobGroup();
    }
    Exporter.finish(packedDir, out, plan, conf);
    long bytes = written.stream().mapToLong(ReplacingWrite.Written::bytes).sum();
    log.printf("[export] wrote %s: %,d bytes in %d file(s) in %s%n", outDir, bytes, written.size(),
        Progress.duration((System.nanoTime() - t0) / 1e9));
    return plan;
  }
}
