package org.seedlm.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.seedlm.pipeline.alloc.MixedModel;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunSpec;
import org.seedlm.pipeline.run.Verifier;

/**
 * The verify stage on Spark: one task per file and per stored tensor of the packed model, each running
 * {@link Verifier#check}; what is checked is documented there.
 */
public final class VerifyJob {
  private VerifyJob() {}

  public static Verifier.Result run(SparkSession spark, String runDir, PrintStream out) throws IOException {
    return run(spark, runDir, 0, out);
  }

  /** Verifies, with a progress bar or progress lines every {@code progressSeconds} (0: none; see Progress). */
  public static Verifier.Result run(SparkSession spark, String runDir, double progressSeconds, PrintStream out)
      throws IOException {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    RunDirectory run = RunDirectory.at(runDir, conf);
    RunSpec spec = MixedModel.spec(run);
    Verifier.Items items = MixedModel.isMixed(run) ? MixedModel.verifyItems(run) : Verifier.items(run);
    out.printf("[verify] %s: %d files, %d stored tensors (%d quantized, %,d blocks)%n", runDir, items.files(),
        items.storedTensors(), items.quantizedTensors(), items.blocks());
    items.notes().forEach(n -> out.println("[verify] not recorded: " + n));

    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<SerializableConf> hadoopConf = jsc.broadcast(new SerializableConf(conf));
    spark.sparkContext().setJobGroup("SEEDLM-VERIFY", "Verifying " + runDir, false);
    LongAccumulator checked = spark.sparkContext().longAccumulator("seedlm.verify.items");
    LongAccumulator blocks = spark.sparkContext().longAccumulator("seedlm.verify.blocks");
    LongAccumulator mismatched = spark.sparkContext().longAccumulator("seedlm.verify.mismatched");
    List<Verifier.ItemResult> results;
    try (Progress p = new Progress("verify", "items", items.items().size(), checked::value, "blocks", items.blocks(),
        blocks::value, mismatched::value, progressSeconds, out)) {
      results = jsc.parallelize(items.items(), Math.max(1, items.items().size()))
          .map(item -> {
            Verifier.ItemResult r = Verifier.check(item, runDir, spec, hadoopConf.value().get());
            checked.add(1);
            blocks.add(r.blocks());
            mismatched.add(r.problems().isEmpty() ? 0 : 1);
            return r;
          })
          .collect();
    } finally {
      spark.sparkContext().clearJobGroup();
    }
    Verifier.Result r = Verifier.summarize(items, results);
    double seconds = (System.nanoTime() - t0) / 1e9;
    List<String> problems = r.problems();
    for (String p : problems.subList(0, Math.min(50, problems.size()))) {
      out.println("[verify] MISMATCH " + p);
    }
    if (problems.size() > 50) {
      out.printf("[verify] ... and %d more mismatches%n", problems.size() - 50);
    }
    out.printf("[verify] %s: %d files, %d tensors (%d quantized), %,d blocks checked, max |sq_err difference| %s,"
        + " %.1f s: %s%n", r.ok() ? "OK" : "FAILED", r.files(), r.tensors(), r.quantized(), r.blocks(),
        r.maxAbsDiff(), seconds, r.ok() ? "every checksum, code and recorded error matches"
            : problems.size() + " mismatch(es)");
    return r;
  }
}
