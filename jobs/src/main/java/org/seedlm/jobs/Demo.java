package org.seedlm.jobs;

import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.seedlm.pipeline.bert.BertImporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code seedlm demo}: import BERT-base from the Maven artifact, quantize it locally with SeedLM
 * 4-bit, assemble the packed model and print the per-layer error table.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Import BERT-base uncased, quantize it with SeedLM 4-bit, assemble, print per-layer errors.")
final class Demo implements Callable<Integer> {
  @Option(names = "--work", description = "Working directory for the model and the run (default: work)")
  String work = "work";

  @Option(names = "--include", description = "Regex of tensors to quantize (default: the linear weights of "
      + "every transformer block)")
  List<String> include = new java.util.ArrayList<>();

  @Option(names = "--codec", description = "Codec (default seedlm-4bit)")
  String codec = SeedLmConf.CODEC_DEFAULT;

  @Option(names = "--kernel", description = "fast (default) or reference")
  String kernel = SeedLmConf.KERNEL_DEFAULT;

  @Mixin
  Cli.SparkOptions spark = new Cli.SparkOptions();

  @Override
  public Integer call() throws Exception {
    long t0 = System.nanoTime();
    Path model = new Path(work, "models/bert-base-uncased");
    Path runDir = new Path(work, "runs/bert-" + codec);
    Configuration local = new Configuration();
    System.out.printf("[demo] importing BERT-base uncased into %s%n", model);
    BertImporter.ensureImported(BertImporter.locateJar(), model, local);
    SeedLmConf c = SeedLmConf.load();
    SparkSession s = spark.session("seedlm demo", c);
    try {
      QuantizeJob.Result r = QuantizeJob.run(s, new QuantizeJob.Options(model.toString(), runDir.toString(), codec,
          include, List.of(), SeedLmConf.UNIT_BLOCKS_DEFAULT, "fail", kernel, Set.of(), 10), System.out);
      if (!r.failures().isEmpty()) {
        return Cli.UNITS_FAILED;
      }
      AssembleJob.run(s, runDir.toString(), 4L << 30, System.out);
      ErrorsJob.registerViews(s, runDir.toString());
      System.out.println("\nErrors by layer (" + codec + "):");
      System.out.print(ErrorsJob.format(s.sql(ErrorsJob.tableSql("layer")), "text"));
      System.out.println("\nErrors by kind:");
      System.out.print(ErrorsJob.format(s.sql(ErrorsJob.tableSql("kind")), "text"));
      System.out.printf("%n[demo] done in %s. Packed model: %s/packed. Query: deploy/seedlm errors --run %s "
          + "--sql \"SELECT ...\"%n", Progress.duration((System.nanoTime() - t0) / 1e9), runDir, runDir);
      return Cli.OK;
    } finally {
      s.stop();
    }
  }
}
