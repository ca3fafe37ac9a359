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
        + "Exit code 4 on any mismatch.")
final class Verify implements Callable<Integer> {

  /** Exit code of a run whose packed model does not verify. */
  static final int MISMATCH = 4;

  @Option(names = "--run", required = true, description = "Run directory (assembled with `seedlm assemble`)")
  String run;

  @Mixin
  Cli.SparkOptions spark = new Cli.SparkOptions();

  @Override
  public Integer call() throws Exception {
    SeedLmConf c = SeedLmConf.load();
    SparkSession s = spark.session("seedlm verify", c);
    try {
      return VerifyJob.run(s, run, System.out).ok() ? Cli.OK : MISMATCH;
    } finally {
      s.stop();
    }
  }
}
