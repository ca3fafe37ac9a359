package org.seedlm.jobs;

import org.seedlm.pipeline.BadInputException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.bert.TfCheckpointFormatException;
import org.seedlm.pipeline.run.IncompleteRunException;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunMismatchException;
import org.seedlm.pipeline.run.RunStatus;
import org.seedlm.pipeline.run.UnitFailure;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.CheckpointException;
import org.seedlm.pipeline.safetensors.TensorInfo;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The {@code seedlm} command line. Exit codes: 0 success; 2 bad input or a refused request (wrong
 * option, malformed checkpoint, NaN weights in some unit, a run directory of another model, an
 * incomplete run); 3 the job ran but some units failed for other reasons (run the same command again
 * to resume); 1 unexpected error.
 */
@Command(name = "seedlm", mixinStandardHelpOptions = true, version = "seedlm-spark 0.1.0",
    description = "Compress LLM weights with SeedLM on Spark: quantize, resume, assemble, query errors.",
    subcommands = {Cli.Quantize.class, Cli.Assemble.class, Cli.Errors.class, Cli.Status.class, Cli.Tensors.class,
        Eval.class, Verify.class, Generate.class, Export.class,
        Demo.class, Compare.class, Bench.class, Report.class, Project.class, Allocate.class, CommandLine.HelpCommand.class})
public final class Cli implements Callable<Integer> {

  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int BAD_INPUT = 2;
  public static final int UNITS_FAILED = 3;

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.out);
    return BAD_INPUT;
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs a command line and returns its exit code (tests call this). */
  public static int run(String... args) {
    CommandLine cl = new CommandLine(new Cli());
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      PrintStream err = System.err;
      if (isBadInput(ex)) {
        err.println("seedlm: " + ex.getMessage());
        return BAD_INPUT;
      }
      err.println("seedlm: failed: " + ex);
      ex.printStackTrace(err);
      return FAILED;
    });
    cl.setParameterExceptionHandler((ex, a) -> {
      System.err.println("seedlm: " + ex.getMessage());
      ex.getCommandLine().usage(System.err);
      return BAD_INPUT;
    });
    return cl.execute(args);
  }

  /**
   * Whether an exception is an input error the code recognised (exit 2, message only): a
   * {@link BadInputException} (wrong option, refused run directory, NaN weights...), a malformed checkpoint,
   * a path that does not exist. Anything else, {@code IllegalArgumentException} and
   * {@code IllegalStateException} included, is a bug: exit 1 with its stack trace.
   */
  static boolean isBadInput(Throwable ex) {
    return ex instanceof BadInputException || ex instanceof CheckpointException
        || ex instanceof TfCheckpointFormatException || ex instanceof java.io.FileNotFoundException;
  }

  /**
   * {@code --conf key=value}, taken by every command that touches a file system. Keys
   * {@code spark.hadoop.*} reach Hadoop (S3A endpoint, credentials...) the way Spark passes them on: commands
   * that run without Spark build their Hadoop configuration here, so the same flags reach every read.
   */
  static class HadoopOptions {
    @Option(names = "--conf", description = "Spark conf key=value (repeatable); spark.hadoop.* keys reach every "
        + "file-system read, e.g. spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:9000")
    List<String> conf = new ArrayList<>();

    /** The --conf pairs, in order. */
    Map<String, String> confPairs() {
      Map<String, String> pairs = new LinkedHashMap<>();
      for (String kv : conf) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          throw new BadInputException("Cannot use --conf \"" + kv + "\": expected key=value");
        }
        pairs.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
      return pairs;
    }

    /**
     * The Hadoop configuration of a command that runs without Spark: Hadoop's defaults, then
     * {@code spark.hadoop.*} from spark-submit's conf (system properties), then from --conf.
     */
    Configuration hadoopConf() {
      Configuration h = new Configuration();
      for (scala.Tuple2<String, String> kv : new org.apache.spark.SparkConf(true).getAll()) {
        applyHadoopKey(h, kv._1(), kv._2());
      }
      confPairs().forEach((k, v) -> applyHadoopKey(h, k, v));
      return h;
    }

    private static void applyHadoopKey(Configuration h, String key, String value) {
      if (key.startsWith(HADOOP_PREFIX)) {
        h.set(key.substring(HADOOP_PREFIX.length()), value);
      }
    }

    private static final String HADOOP_PREFIX = "spark.hadoop.";
  }

  /** Options every Spark command takes: --conf, and the master. */
  static final class SparkOptions extends HadoopOptions {
    @Option(names = "--master", description = "Spark master (default: spark-submit's, else the conf file's, "
        + "else local[*])")
    String master;

    SparkSession session(String app, SeedLmConf c) {
      return Sparks.session(app, c.master(master), confPairs());
    }
  }

  @Command(name = "quantize", mixinStandardHelpOptions = true,
      description = "Quantize the selected tensors of a checkpoint into a run directory; "
          + "run again to resume (only uncommitted units are computed).")
  static final class Quantize implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Checkpoint directory or .safetensors file "
        + "(file:, hdfs:, s3a:)")
    String model;

    @Option(names = "--run", required = true, description = "Run directory (file:, hdfs:, s3a:)")
    String run;

    @Option(names = "--codec", description = "seedlm-4bit (default), seedlm-3bit, seedlm-c{C}-p{P}-k{K}, "
        + "rtn-sym-b4-g128, rtn-asym-b4-g128, nf4-g64; tensor-level (one unit per tensor): int8-row, "
        + "int8-row-o{sigma|none}, ternary-g{g}-t{t}, ternary5-g{g}-t{t}, kashin, kashin-n{N}-k{k}")
    String codec;

    @Option(names = "--include", description = "Regex of tensor names to quantize (repeatable; default: "
        + "linear weights of the transformer blocks)")
    List<String> include = new ArrayList<>();

    @Option(names = "--exclude", description = "Regex of tensor names to keep unquantized (repeatable)")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--unit-blocks", description = "Blocks per work unit (default 32768)")
    Integer unitBlocks;

    @Option(names = "--non-finite", description = "NaN/Inf weights: fail (default) or zero")
    String nonFinite;

    @Option(names = "--kernel", description = "fast (default) or reference")
    String kernel;

    @Option(names = "--device", description = "Where the SeedLM search runs: auto (default: a GPU when one can "
        + "be used, else the CPU), gpu (refused without one) or cpu")
    String device;

    @Option(names = "--gpu-ordinal", description = "CUDA device in local mode (default 0; in a cluster the task "
        + "uses the GPU Spark assigned to it)")
    Integer gpuOrdinal;

    @Option(names = "--coefficients", description = "SeedLM coefficient rule: best (default; the least error "
        + "among e, e-1 and the floor/ceil roundings, no extra bits) or nearest (format version 1's rule)")
    String coefficients;

    @Option(names = "--group-blocks", description = "SeedLM blocks per exponent-offset group G (default 4096, or "
        + "the largest power of two dividing --unit-blocks when smaller; 0: format version 1, no offsets)")
    Integer groupBlocks;

    @Option(names = "--fail-units", split = ",", hidden = true, description = "Test hook: units that fail")
    List<Integer> failUnits = new ArrayList<>();

    @Mixin
    SparkOptions spark = new SparkOptions();

    @Override
    public Integer call() throws Exception {
      SeedLmConf c = SeedLmConf.load();
      QuantizeJob.Options o = new QuantizeJob.Options(model, run,
          c.get(SeedLmConf.CODEC, codec, SeedLmConf.CODEC_DEFAULT), include, exclude,
          c.getInt(SeedLmConf.UNIT_BLOCKS, unitBlocks, SeedLmConf.UNIT_BLOCKS_DEFAULT),
          c.get(SeedLmConf.NON_FINITE, nonFinite, SeedLmConf.NON_FINITE_DEFAULT),
          c.get(SeedLmConf.KERNEL, kernel, SeedLmConf.KERNEL_DEFAULT), Set.copyOf(failUnits),
          c.progressSeconds(), c.get(SeedLmConf.COEFFICIENTS, coefficients, SeedLmConf.COEFFICIENTS_DEFAULT),
          c.getIntOrNull(SeedLmConf.GROUP_BLOCKS, groupBlocks), c.get(SeedLmConf.DEVICE, device, SeedLmConf.DEVICE_DEFAULT),
          c.getInt(SeedLmConf.GPU_ORDINAL, gpuOrdinal, SeedLmConf.GPU_ORDINAL_DEFAULT));
      // refuse a bad codec, rule, kernel or device (--device gpu without a usable GPU) before starting Spark
      QuantizeJob.codec(o);
      SparkSession s = spark.session("seedlm quantize", c);
      try {
        QuantizeJob.Result r = QuantizeJob.run(s, o, System.out);
        if (r.failures().isEmpty()) {
          return OK;
        }
        // Bad input (NaN weights, a corrupt slice) will fail again until the input or the policy changes.
        return r.failures().stream().anyMatch(UnitRunner.Outcome::badInput) ? BAD_INPUT : UNITS_FAILED;
      } finally {
        s.stop();
      }
    }
  }

  @Command(name = "assemble", mixinStandardHelpOptions = true,
      description = "Write the packed model of a complete run to RUN/packed, with a manifest of checksums.")
  static final class Assemble implements Callable<Integer> {
    @Option(names = "--run", required = true, description = "Run directory")
    String run;

    @Option(names = "--shard-size", description = "Largest output file (default 4g)")
    String shardSize;

    @Mixin
    SparkOptions spark = new SparkOptions();

    @Override
    public Integer call() throws Exception {
      SeedLmConf c = SeedLmConf.load();
      long max = SeedLmConf.parseBytes(SeedLmConf.SHARD_SIZE,
          c.get(SeedLmConf.SHARD_SIZE, shardSize, SeedLmConf.SHARD_SIZE_DEFAULT));
      SparkSession s = spark.session("seedlm assemble", c);
      try {
        AssembleJob.run(s, run, max, System.out);
        return OK;
      } finally {
        s.stop();
      }
    }
  }

  @Command(name = "errors", mixinStandardHelpOptions = true,
      description = "Print error tables of a run (per layer, kind and tensor), or run your own SQL over the "
          + "views `blocks` (one row per block) and `units` (one row per committed unit).")
  static final class Errors implements Callable<Integer> {
    @Option(names = "--run", required = true, description = "Run directory")
    String run;

    @Option(names = "--by", split = ",", description = "Tables to print: layer, kind, tensor, all "
        + "(default: layer,kind,tensor)")
    List<String> by = new ArrayList<>();

    @Option(names = "--sql", description = "Your own query, e.g. \"SELECT tensor, MAX(sq_err) FROM blocks "
        + "GROUP BY tensor\"")
    String sql;

    @Option(names = "--format", description = "text (default), csv or json")
    String format = "text";

    @Option(names = "--out", description = "Write to this file (any Hadoop path) instead of the console")
    String out;

    @Option(names = "--html", description = "Also write one self-contained HTML page with charts of the run "
        + "(any Hadoop path)")
    String html;

    @Mixin
    SparkOptions spark = new SparkOptions();

    @Override
    public Integer call() throws Exception {
      SeedLmConf c = SeedLmConf.load();
      ErrorsJob.checkFormat(format);
      List<String> tables = by.isEmpty() ? ErrorsJob.TABLES : by;
      for (String t : tables) {
        ErrorsJob.tableSql(t);
      }
      SparkSession s = spark.session("seedlm errors", c);
      try {
        ErrorsJob.registerViews(s, run);
        if (html != null) {
          PageData page = new PageData("seedlm errors: " + run, "one run; verify and gate: see `seedlm verify`");
          page.addRun(s, run, "not run", "not run", null);
          page.write(s, html);
          System.out.println("[errors] wrote " + html);
        }
        StringBuilder sb = new StringBuilder();
        if (sql != null) {
          sb.append(ErrorsJob.format(ErrorsJob.query(s, sql), format));
        } else {
          for (String t : tables) {
            if (format.equals("text")) {
              sb.append("\nErrors by ").append(t).append(":\n");
            }
            sb.append(ErrorsJob.format(s.sql(ErrorsJob.tableSql(t)), format));
          }
        }
        if (out == null) {
          System.out.print(sb);
        } else {
          Path p = new Path(out);
          try (var os = p.getFileSystem(s.sparkContext().hadoopConfiguration()).create(p, true)) {
            os.write(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
          }
          System.out.println("[errors] wrote " + out);
        }
        return OK;
      } finally {
        s.stop();
      }
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Units done, failed and pending; throughput and time left (reads the run directory only).")
  static final class Status implements Callable<Integer> {
    @Option(names = "--run", required = true, description = "Run directory")
    String run;

    @Mixin
    HadoopOptions hadoop = new HadoopOptions();

    @Override
    public Integer call() throws Exception {
      RunDirectory rd = RunDirectory.at(run, hadoop.hadoopConf());
      var spec = rd.readSpec();
      RunStatus st = RunStatus.of(rd);
      System.out.printf("run       %s%nmodel     %s%ncodec     %s%n", run, spec.model(), spec.codec());
      System.out.printf("units     %d total, %d committed, %d failed, %d pending%n", st.units(), st.committed(),
          st.failed(), st.pending());
      System.out.printf("blocks    %,d of %,d done (%.1f%%)%n", st.blocksDone(), st.blocks(),
          100.0 * st.blocksDone() / Math.max(1, st.blocks()));
      System.out.printf("speed     %,.0f blocks/s (committed blocks over wall time)%n", st.blocksPerSecond());
      System.out.printf("ETA       %s at that speed%n", st.blocksDone() == st.blocks() ? "done"
          : Progress.duration(st.etaSeconds()));
      System.out.printf("assembled %s%n", st.assembled() ? "yes (packed/manifest.json)" : "no");
      for (UnitFailure f : st.failures().subList(0, Math.min(10, st.failures().size()))) {
        System.out.printf("failed    unit %d (%s): %s%n", f.unit(), f.tensor(), f.message());
      }
      if (st.failures().size() > 10) {
        System.out.printf("failed    ... and %d more%n", st.failures().size() - 10);
      }
      return OK;
    }
  }

  @Command(name = "tensors", mixinStandardHelpOptions = true,
      description = "List a checkpoint's tensors: Q for those the selection quantizes, the reason for the others.")
  static final class Tensors implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Checkpoint directory or file")
    String model;

    @Option(names = "--include", description = "Regex (repeatable)")
    List<String> include = new ArrayList<>();

    @Option(names = "--exclude", description = "Regex (repeatable)")
    List<String> exclude = new ArrayList<>();

    @Mixin
    HadoopOptions hadoop = new HadoopOptions();

    @Override
    public Integer call() throws Exception {
      var sel = new org.seedlm.pipeline.run.TensorSelection(include, exclude);
      try (Checkpoint ck = Checkpoint.open(new Path(model), hadoop.hadoopConf())) {
        Set<String> shards = new TreeSet<>(ck.shards());
        System.out.printf("%s: %d tensors in %d file(s), %,d bytes%n", model, ck.tensors().size(), shards.size(),
            ck.totalBytes());
        int quantized = 0;
        int keptWeights = 0;
        for (Checkpoint.Tensor t : ck.tensors().values()) {
          TensorInfo i = t.info();
          String reason = sel.keptReason(i);
          quantized += reason == null ? 1 : 0;
          keptWeights += reason != null && (i.rank() == 2 || i.rank() == 3) && i.dtype().isFloating() ? 1 : 0;
          System.out.printf("%s %-7s %-18s %s%s%n", reason == null ? "Q" : " ", i.dtype(),
              java.util.Arrays.toString(i.shape()), i.name(), reason == null ? "" : "  (kept: " + reason + ")");
        }
        System.out.printf("%d quantized, %d kept (%d of them 2-D or 3-D float weights)%n", quantized,
            ck.tensors().size() - quantized, keptWeights);
      }
      return OK;
    }
  }
}
