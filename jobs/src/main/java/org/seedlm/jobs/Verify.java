package org.seedlm.jobs;

import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code seedlm verify --run RUN}: checks the packed model of a run against its manifest, its
 * recorded codes and errors and the original checkpoint (see {@link VerifyJob}). Exit code 0 when
 * everything matches, {@link #MISMATCH} when anything does not (every mismatch is printed, naming
 * the file, or the tensor and block), 2 for bad input (no such run, not assembled).
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
    description = "Verify a run's packed model: manifest checksums, every block's code, and every block's "
        + "recorded error recomputed by decoding the packed model against the original checkpoint. "
        + "Exit code 4 on any mismatch, or (with --eval) when the zero-shot accuracy gate fails.")
final class Verify implements Callable<Integer> {

  /** Exit code of a run whose packed model does not verify. */
  static final int MISMATCH = 4;

  @Option(names = "--run", required = true, description = "Run directory (assembled with `seedlm assemble`)")
  String run;

  @Option(names = "--eval", description = "After the exactness check, run the zero-shot evaluation of the packed "
      + "model against the original (seedlm eval; its --items, --mlm-sentences, --seed, --brown, "
      + "--max-drop-accuracy and --max-kl apply) and fail with exit code 4 when its gate fails")
  boolean eval;

  /** With --eval: the options of {@code seedlm eval} (items, corpus, gate limits). */
  @Mixin
  Eval.Options evalOptions = new Eval.Options();

  @Mixin
  Cli.SparkOptions spark = new Cli.SparkOptions();

  @Override
  public Integer call() throws Exception {
    SeedLmConf c = SeedLmConf.load();
    SparkSession s = spark.session("seedlm verify", c);
    String model;
    try {
      if (!VerifyJob.run(s, run, c.progressSeconds(), System.out).ok()) {
        return MISMATCH;
      }
      model = org.seedlm.pipeline.alloc.MixedModel.spec(org.seedlm.pipeline.run.RunDirectory.at(run,
          s.sparkContext().hadoopConfiguration())).model();
    } finally {
      s.stop();
    }
    if (!eval) {
      return Cli.OK;
    }
    // The accuracy gate: the same evaluation as `seedlm eval`, original against this run's packed model.
    Eval e = new Eval();
    e.model = model;
    e.packed = new org.apache.hadoop.fs.Path(run, org.seedlm.pipeline.run.RunDirectory.PACKED).toString();
    e.opts = evalOptions;
    e.hadoop = spark; // the same --conf: S3A settings reach the evaluation's reads too
    return e.call();
  }
}
