package org.seedlm.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.run.Assembler;
import org.seedlm.pipeline.run.CommitMarker;
import org.seedlm.pipeline.run.Plan;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunSpec;
import org.seedlm.pipeline.run.TensorAssembler;

/**
 * The assemble stage: refuse a run with missing units, gather the codes in as many tasks as the cluster has
 * cores (unit ranges, only the code column read), write each packed output shard in its own Spark task from
 * them, then the index and the manifest on the driver. A tensor-level codec's run ({@link TensorAssembler}) has no
 * codes to gather: each shard task reads its tensors' one row each.
 */
public final class AssembleJob {
  private AssembleJob() {}

  /** Writes one output shard, in a Spark task. */
  @FunctionalInterface
  private interface ShardWriter extends java.io.Serializable {
    Assembler.ShardResult write(RunDirectory run, Assembler.OutputShard shard, Configuration conf) throws IOException;
  }

  public static List<Assembler.ShardResult> run(SparkSession spark, String runDir, long maxShardBytes, PrintStream out)
      throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    RunDirectory run = RunDirectory.at(runDir, conf);
    RunSpec spec = run.readSpec();
    Plan plan = run.readPlan();
    List<CommitMarker> markers = Assembler.checkComplete(run, plan); // the commit index: one GET
    List<Assembler.OutputShard> shards;
    List<Assembler.CodePart> parts;
    ShardWriter writer;
    if (spec.tensorCodec()) { // each tensor's encoded bytes are its unit's one row: no parts to gather
      Assembler.prepare(run);
      shards = TensorAssembler.planShards(run, plan, markers, maxShardBytes);
      parts = List.of();
      writer = (r, s, c) -> TensorAssembler.writeShard(r, spec, plan, s, c);
    } else {
      BlockCodec codec = spec.newCodec();
      Map<String, String> offsets = Assembler.tensorOffsets(run, plan, codec, markers);
      Assembler.prepare(run);
      shards = Assembler.planShards(plan, codec, maxShardBytes);
      parts = Assembler.planParts(plan, codec, spark.sparkContext().defaultParallelism());
      List<Assembler.CodePart> allParts = parts;
      writer = (r, s, c) -> Assembler.writeShard(r, spec.model(), spec, plan, spec.newCodec(), allParts, s, offsets,
          c);
    }
    out.printf("[assemble] %s: %d quantized (%s) + %d kept tensors into %d file(s); codes gathered by %d task(s)%n",
        runDir, plan.tensors().size(), spec.codec(), plan.kept().size(), shards.size(), parts.size());
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<SerializableConf> hadoopConf = jsc.broadcast(new SerializableConf(conf));
    spark.sparkContext().setJobGroup("SEEDLM-ASSEMBLE", "Assembling " + runDir, false);
    List<Assembler.ShardResult> results;
    try {
      // each task gets its units' markers from the driver: no task reads a marker
      List<Tuple2<Assembler.CodePart, List<CommitMarker>>> work = parts.stream()
          .map(p -> new Tuple2<>(p, Assembler.markersOf(p, markers))).toList();
      if (!work.isEmpty()) {
        jsc.parallelize(work, work.size())
            .foreach(w -> {
              Configuration c = hadoopConf.value().get();
              Assembler.writePart(RunDirectory.at(runDir, c), plan, spec.newCodec(), w._1(), w._2());
            });
      }
      results = jsc.parallelize(shards, shards.size())
          .map(s -> {
            Configuration c = hadoopConf.value().get();
            return writer.write(RunDirectory.at(runDir, c), s, c);
          })
          .collect();
    } finally {
      spark.sparkContext().clearJobGroup();
    }
    Assembler.finish(run, spec.model(), spec, plan, shards, results, conf);
    long bytes = results.stream().mapToLong(Assembler.ShardResult::bytes).sum();
    out.printf("[assemble] wrote %s/%s: %,d bytes in %s (manifest.json has the checksums)%n", runDir,
        RunDirectory.PACKED, bytes, Progress.duration((System.nanoTime() - t0) / 1e9));
    return results;
  }
}
