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

/**
 * The assemble stage: refuse a run with missing units, gather the codes in as many tasks as the cluster has
 * cores (unit ranges, only the code column read), write each packed output shard in its own Spark task from
 * them, then the index and the manifest on the driver.
 */
public final class AssembleJob {
  private AssembleJob() {}

  public static List<Assembler.ShardResult> run(SparkSession spark, String runDir, long maxShardBytes, PrintStream out)
      throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    RunDirectory run = RunDirectory.at(runDir, conf);
    RunSpec spec = run.readSpec();
    Plan plan = run.readPlan();
    BlockCodec codec = spec.newCodec();
    List<CommitMarker> markers = Assembler.checkComplete(run, plan); // the commit index: one GET
    Map<String, String> offsets = Assembler.tensorOffsets(run, plan, codec, markers);
    Assembler.prepare(run);
    List<Assembler.OutputShard> shards = Assembler.planShards(plan, codec, maxShardBytes);
    int cores = spark.sparkContext().defaultParallelism();
    List<Assembler.CodePart> parts = Assembler.planParts(plan, codec, cores);
    out.printf("[assemble] %s: %d quantized + %d kept tensors into %d file(s); codes gathered by %d task(s)%n",
        runDir, plan.tensors().size(), plan.kept().size(), shards.size(), parts.size());
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<SerializableConf> hadoopConf = jsc.broadcast(new SerializableConf(conf));
    spark.sparkContext().setJobGroup("SEEDLM-ASSEMBLE", "Assembling " + runDir, false);
    List<Assembler.ShardResult> results;
    try {
      // each task gets its units' markers from the driver: no task reads a marker
      List<Tuple2<Assembler.CodePart, List<CommitMarker>>> work = parts.stream()
          .map(p -> new Tuple2<>(p, Assembler.markersOf(p, markers))).toList();
      jsc.parallelize(work, work.size())
          .foreach(w -> {
            Configuration c = hadoopConf.value().get();
            Assembler.writePart(RunDirectory.at(runDir, c), plan, spec.newCodec(), w._1(), w._2());
          });
      results = jsc.parallelize(shards, shards.size())
          .map(s -> {
            Configuration c = hadoopConf.value().get();
            return Assembler.writeShard(RunDirectory.at(runDir, c), spec.model(), spec, plan, spec.newCodec(),
                parts, s, offsets, c);
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
