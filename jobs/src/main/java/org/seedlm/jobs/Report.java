package org.seedlm.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.alloc.BitAllocator;
import org.seedlm.pipeline.alloc.MixedModel;
import org.seedlm.pipeline.bert.BertImporter;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.TensorCodecs;
import org.seedlm.pipeline.eval.BertModel;
import org.seedlm.pipeline.eval.BrownCorpus;
import org.seedlm.pipeline.eval.EvalGate;
import org.seedlm.pipeline.eval.EvalReport;
import org.seedlm.pipeline.eval.EvalTasks;
import org.seedlm.pipeline.eval.ModelFamily;
import org.seedlm.pipeline.eval.Evaluator;
import org.seedlm.pipeline.eval.WordPieceTokenizer;
import org.seedlm.pipeline.eval.ZeroShotReport;
import org.seedlm.pipeline.eval.llama.CausalReport;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.Verifier;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.tools.DecodedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code seedlm report}: quantize a model (BERT-base by default, or the Llama-family or BERT checkpoint given
 * by {@code --model}) with every codec (resuming existing runs), assemble and verify each, evaluate each
 * against the original on the same zero-shot items, and print one table.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Quantize a model with each codec, verify, evaluate zero-shot, print one comparison table. "
        + "Default model: BERT-base uncased (masked-LM tasks); --model a Llama-family checkpoint gets the causal "
        + "tasks. Exit code 4 when any codec's packed model does not verify or fails the gate.")
final class Report implements Callable<Integer> {
  @Option(names = "--work", description = "Working directory (models and runs; default: work)")
  String work = "work";

  @Option(names = "--model", description = "Model directory to compress: a Llama-family causal LM (config.json "
      + "model_type llama, mistral, qwen2) or a BERT masked LM (default: BERT-base uncased, imported from Maven "
      + "Central into WORK/models)")
  String model;

  @Option(names = "--codecs", split = ",", description = "Codecs, block or tensor-level (default: seedlm-4bit, "
      + "seedlm-3bit, rtn-sym-b4-g128, rtn-asym-b4-g128, nf4-g64; tensor-level: int8-row, ternary-g64-t0.7, kashin, "
      + "... as in compare)")
  List<String> codecs = new ArrayList<>();

  @Option(names = "--include", description = "Regex of tensors to quantize (default: all linear weights of the "
      + "transformer blocks)")
  List<String> include = new ArrayList<>();

  @Option(names = "--items", description = "Cloze items (default: ${DEFAULT-VALUE}; half as many MLM sentences "
      + "or Brown passages)")
  int items = 200;

  @Option(names = "--brown", description = "Brown corpus folder (default: -Dseedlm.brown.dir, else work/data)")
  String brown;

  @Option(names = "--allocate", split = ",", description = "Targets in bits per weight for allocated rows: after "
      + "the codecs, one block codec per tensor from their runs (data-free objective, as `seedlm allocate`), built as "
      + "a mixed packed model in WORK/runs/MODEL-alloc-B, verified and evaluated like a codec (default: "
      + "${DEFAULT-VALUE}; empty: none)")
  List<String> allocate = new ArrayList<>(List.of("3.0", "3.5", "4.0"));

  @Option(names = "--objective", description = "What the allocated rows minimize, as `seedlm allocate "
      + "--objective`: sq-err (data-free) or kl (each tensor's KL when quantized alone, tensors x codecs "
      + "evaluations, stored in the runs; rows alloc-kl-B) (default: ${DEFAULT-VALUE})")
  String objective = Allocate.Objective.SQ_ERR.option;

  @Option(names = "--sensitivity-items", description = "With --objective kl: cloze items of each per-tensor "
      + "evaluation of the KL objective (half as many MLM sentences or Brown passages), fewer than --items to make its "
      + "tensors x codecs evaluations cheaper; every row is still evaluated with --items (default: --items; `seedlm "
      + "allocate --items N` reuses the values stored with N)")
  Integer sensitivityItems;

  @Option(names = "--html", description = "Also write the comparison as one self-contained HTML page with charts "
      + "(any Hadoop path)")
  String html;

  @Mixin
  Eval.GateOptions gateLimits = new Eval.GateOptions();

  @Mixin
  Cli.SparkOptions spark = new Cli.SparkOptions();

  /** How one model family is evaluated: the original once, then each codec's packed model against it. */
  interface Evaluation {
    ZeroShotReport evaluate(Path packed) throws java.io.IOException;

    /** The same evaluation of a model decoded in memory ({@code seedlm compare --eval}). */
    ZeroShotReport evaluate(DecodedModel decoded) throws java.io.IOException;

    /** The evaluation columns' header, and one report's cells. */
    String header();

    String cells(ZeroShotReport r);

    /** What was evaluated, one line. */
    String describe();

    /** Every setting the results depend on (items, seeds, lengths), one line: equal settings, equal results. */
    String settings();
  }

  @Override
  public Integer call() throws Exception {
    long t0 = System.nanoTime();
    List<String> names = codecs.isEmpty() ? Codecs.standardNames() : codecs;
    for (String n : names) {
      if (TensorCodecs.isTensorCodecName(n)) {
        TensorCodecs.parse(n);
      } else {
        Codecs.parse(n);
      }
    }
    List<Double> targets = targets(allocate);
    if (!targets.isEmpty() && names.stream().allMatch(TensorCodecs::isTensorCodecName)) {
      throw new BadInputException("Cannot report: --allocate chooses among the block codecs of --codecs, and "
          + names + " has none (add one, e.g. seedlm-4bit, or give --allocate \"\")");
    }
    Allocate.Objective obj = Allocate.Objective.parse("report", objective);
    if (sensitivityItems != null && sensitivityItems < 1) {
      throw new BadInputException("Cannot report: --sensitivity-items " + sensitivityItems + " must be at least 1");
    }
    SeedLmConf c = SeedLmConf.load();
    Configuration local = spark.hadoopConf();
    Path modelDir = model != null ? new Path(model)
        : BertImporter.ensureImported(BertImporter.locateJar(), new Path(work, "models/bert-base-uncased"), local);
    String modelName = model != null ? modelDir.getName() : "bert";
    BrownCorpus corpus = brown == null ? BrownCorpus.load() : BrownCorpus.load(java.nio.file.Paths.get(brown));
    Evaluation evaluation = evaluation(local, modelDir, corpus, items, c.progressSeconds());

    List<String> lines = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    int unitBlocks = c.getInt(SeedLmConf.UNIT_BLOCKS, null, SeedLmConf.UNIT_BLOCKS_DEFAULT);
    String nonFinite = c.get(SeedLmConf.NON_FINITE, null, SeedLmConf.NON_FINITE_DEFAULT);
    String kernel = c.get(SeedLmConf.KERNEL, null, SeedLmConf.KERNEL_DEFAULT);
    String selection = include.isEmpty() ? "all linear weights of the transformer blocks" : String.join(", ", include);
    String about = String.format("%s, %s (default pattern %s); %s",
        model != null ? modelDir.toString() : "BERT-base uncased", selection, include.isEmpty() ? "on" : "off",
        evaluation.describe());
    String header = String.format("%-17s %7s %9s %9s  %-6s %s  %s", "codec", "bits/w", "med_rel", "worst_rel",
        "verify", evaluation.header(), "gate");
    PageData page = html == null ? null : new PageData("seedlm report: " + modelName, about);
    SparkSession s = spark.session("seedlm report", c);
    List<RunDirectory> sources = new ArrayList<>();
    try {
      for (String codec : names) {
        String run = new Path(work, "runs/" + modelName + "-" + codec).toString();
        QuantizeJob.Result q = QuantizeJob.run(s, new QuantizeJob.Options(modelDir.toString(), run, codec, include,
            List.of(), unitBlocks, nonFinite, kernel, Set.of(), c.progressSeconds()), System.out);
        if (!q.failures().isEmpty()) {
          return Cli.UNITS_FAILED;
        }
        RunDirectory rd = RunDirectory.at(run, s.sparkContext().hadoopConfiguration());
        if (!rd.fs().exists(rd.path(RunDirectory.PACKED + "/" + PackedFormat.MANIFEST))) {
          AssembleJob.run(s, run, 4L << 30, System.out);
        }
        if (!TensorCodecs.isTensorCodecName(codec)) {
          sources.add(rd); // allocation chooses among block codecs (a mixed model stores block-codec tensors)
        }
        ErrorsJob.registerViews(s, run);
        Row e = s.sql(ErrorsJob.SUMMARY_SQL).first();
        Evaluated r = evaluate(s, c, evaluation, codec, run, e.getDouble(1), e.getDouble(2), lines, failed);
        if (page != null) {
          page.addRun(s, run, r.bpw(), r.verified(), r.gate(), r.report().meanKl());
        }
      }
      Evaluation kl = obj != Allocate.Objective.KL || targets.isEmpty() ? null
          : sensitivityItems == null || sensitivityItems == items ? evaluation
          : evaluation(local, modelDir, corpus, sensitivityItems, c.progressSeconds());
      Allocate.Measured m = targets.isEmpty() ? null : Allocate.Measured.of(sources, kl);
      for (double target : targets) {
        String label = String.format(Locale.ROOT, obj == Allocate.Objective.KL ? "alloc-kl-%.2f" : "alloc-%.2f",
            target);
        long maxBits = m.maxBits(target);
        long minBits = BitAllocator.minBits(m.items());
        if (minBits > maxBits) {
          lines.add(String.format(Locale.ROOT, "%-17s infeasible: the smallest reachable size from these codecs is "
              + "%.4f bits/weight (codes, scales and seeds as stored)", label, (double) minBits / m.weights()));
          System.out.println("[report] " + lines.get(lines.size() - 1));
          continue;
        }
        BitAllocator.Result res = BitAllocator.solve(m.items(), maxBits);
        RunDirectory out = RunDirectory.at(new Path(work, "runs/" + modelName + "-" + label).toString(),
            s.sparkContext().hadoopConfiguration());
        if (!MixedModel.holds(out, sources, m.choice(res))) {
          if (MixedModel.isMixed(out)) { // an earlier report's allocation from other runs or codecs: rebuild it
            out.fs().delete(out.root(), true);
          }
          m.write(sources, maxBits, res, out, 4L << 30);
        }
        double[] rel = m.relErrors(res.choice());
        java.util.Arrays.sort(rel);
        evaluate(s, c, evaluation, label, out.root().toString(), median(rel), rel[rel.length - 1], lines, failed);
      }
      if (page != null) {
        page.comparison(header, lines);
        page.write(s, html);
        System.out.println("[report] wrote " + html);
      }
    } finally {
      s.stop();
    }
    System.out.printf("%n%s%n%s%n", about, header);
    lines.forEach(System.out::println);
    System.out.printf("[report] done in %s%n", Progress.duration((System.nanoTime() - t0) / 1e9));
    if (!failed.isEmpty()) {
      System.err.println("seedlm: report: failed " + String.join(", ", failed));
      return EvalGate.EXIT_GATE_FAILED;
    }
    return Cli.OK;
  }

  /** A row's packed bits per weight, verification, gate and evaluation. */
  private record Evaluated(double bpw, String verified, String gate, ZeroShotReport report) {}

  /**
   * Verifies and evaluates one packed run (a codec's or an allocated one), adds its row to {@code lines} and, on a
   * verify or gate failure, its label to {@code failed}.
   */
  private Evaluated evaluate(SparkSession s, SeedLmConf c, Evaluation evaluation, String label, String run,
      double medRel, double worstRel, List<String> lines, List<String> failed) throws java.io.IOException {
    Verifier.Result v = VerifyJob.run(s, run, c.progressSeconds(), System.out);
    String verified = v.ok() ? "ok" : "FAILED";
    Path packed = new Path(run, RunDirectory.PACKED);
    ZeroShotReport r = evaluation.evaluate(packed);
    double bpw;
    try (PackedModel pm = PackedModel.open(packed, s.sparkContext().hadoopConfiguration())) {
      bpw = EvalGate.bitsPerWeight(pm); // includes the exponent offsets' 8 bits per group
    }
    String gate = EvalGate.violations(r, gateLimits.maxDropPoints(bpw), gateLimits.maxKl()).isEmpty() ? "pass"
        : "FAIL";
    if (!v.ok() || gate.equals("FAIL")) {
      failed.add(label + (v.ok() ? "" : " (verify)") + (gate.equals("FAIL") ? " (gate)" : ""));
    }
    lines.add(String.format(Locale.ROOT, "%-17s %7.3f %9.4f %9.4f  %-6s %s  %s", label, bpw, medRel, worstRel,
        verified, evaluation.cells(r), gate));
    System.out.println("[report] " + lines.get(lines.size() - 1));
    return new Evaluated(bpw, verified, gate, r);
  }

  /** The median of sorted values, interpolated between the middle two (as Spark's PERCENTILE(x, 0.5)). */
  static double median(double[] sorted) {
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** The {@code --allocate} targets; blanks are dropped, so an empty option means none. */
  static List<Double> targets(List<String> option) {
    List<Double> t = new ArrayList<>();
    for (String o : option) {
      if (o.isBlank()) {
        continue;
      }
      try {
        t.add(Double.parseDouble(o.trim()));
      } catch (NumberFormatException ex) {
        throw new BadInputException("Cannot report: --allocate " + o + " is not a number of bits per weight (give "
            + "e.g. --allocate 3.0,3.5,4.0, or --allocate \"\" for none)");
      }
      if (!(t.get(t.size() - 1) > 0)) {
        throw new BadInputException("Cannot report: --allocate " + o + " must be > 0 bits per weight");
      }
    }
    return t;
  }

  /**
   * The evaluation of the model's family, with {@code items} cloze items; BERT's shows progress every
   * {@code progressSeconds} (0: none).
   */
  static Evaluation evaluation(Configuration conf, Path modelDir, BrownCorpus corpus, int items,
      double progressSeconds) throws java.io.IOException {
    return ModelFamily.of(conf, modelDir) == ModelFamily.LLAMA ? causal(conf, modelDir, corpus, items)
        : masked(conf, modelDir, corpus, items, progressSeconds);
  }

  /** BERT: cloze and MLM pseudo-perplexity; the original's forward passes run once and are reused. */
  private static Evaluation masked(Configuration conf, Path modelDir, BrownCorpus corpus, int items,
      double progressSeconds)
      throws java.io.IOException {
    WordPieceTokenizer tok = WordPieceTokenizer.load(new Path(modelDir, "vocab.txt"), conf);
    EvalTasks tasks = EvalTasks.build(corpus, tok, items, Math.max(1, items / 2), EvalTasks.DEFAULT_SEED);
    Evaluator.Reference original = new Evaluator.Reference(BertModel.loadCheckpoint(modelDir, conf), tasks);
    return new Evaluation() {
      @Override
      public ZeroShotReport evaluate(Path packed) throws java.io.IOException {
        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
        try (Progress bar = new Progress("eval", "items", tasks.cloze().size() + tasks.mlm().size(), done::get, null,
            0, null, null, progressSeconds, System.out)) {
          return Evaluator.evaluate(original, BertModel.loadPacked(packed, conf), done::set);
        }
      }

      @Override
      public ZeroShotReport evaluate(DecodedModel decoded) throws java.io.IOException {
        try (Checkpoint ck = Checkpoint.open(modelDir, conf)) {
          return Evaluator.evaluate(original, new BertModel(decoded.bert(BertModel.weights(ck))), done -> { });
        }
      }

      @Override
      public String header() {
        return String.format("%7s %7s %6s %7s %7s %7s %8s %7s", "cloze", "cloze_q", "diff", "ppl", "ppl_q", "diff",
            "KL", "top1=");
      }

      @Override
      public String cells(ZeroShotReport z) {
        EvalReport r = (EvalReport) z;
        return String.format(Locale.ROOT, "%6.1f%% %6.1f%% %+6.1f %7.2f %7.2f %+7.2f %8.4f %6.1f%%",
            100 * r.clozeAccuracyOriginal(), 100 * r.clozeAccuracyCompressed(), 0.0 - r.accuracyDropPoints(),
            r.pseudoPerplexityOriginal(), r.pseudoPerplexityCompressed(),
            r.pseudoPerplexityCompressed() - r.pseudoPerplexityOriginal(), r.meanKl(), 100 * r.top1Agreement());
      }

      @Override
      public String describe() {
        return String.format("%d cloze items, %d MLM sentences from the Brown corpus", tasks.cloze().size(),
            tasks.mlm().size());
      }

      @Override
      public String settings() {
        return String.format("masked LM: %s, seed %d", describe(), EvalTasks.DEFAULT_SEED);
      }
    };
  }

  /** Llama family: Brown perplexity, log-likelihood cloze, self-generated passages, KL; tasks built once. */
  private static Evaluation causal(Configuration conf, Path modelDir, BrownCorpus corpus, int items)
      throws java.io.IOException {
    Eval.Options opts = new Eval.Options();
    opts.items = items;
    Eval.CausalInputs inputs = Eval.CausalInputs.prepare(conf, modelDir, opts, corpus);
    return new Evaluation() {
      @Override
      public ZeroShotReport evaluate(Path packed) throws java.io.IOException {
        return inputs.evaluate(packed);
      }

      @Override
      public ZeroShotReport evaluate(DecodedModel decoded) throws java.io.IOException {
        return inputs.evaluate(decoded);
      }

      @Override
      public String header() {
        return String.format("%7s %7s %7s %7s %7s %7s %8s %7s", "ppl", "ppl_q", "acc", "acc_q", "accn", "accn_q",
            "KL", "top1=");
      }

      @Override
      public String cells(ZeroShotReport z) {
        CausalReport r = (CausalReport) z;
        return String.format(Locale.ROOT, "%7.3f %7.3f %6.1f%% %6.1f%% %6.1f%% %6.1f%% %8.4f %6.1f%%",
            r.perplexityOriginal(), r.perplexityCompressed(), 100 * r.accOriginal(), 100 * r.accCompressed(),
            100 * r.accNormOriginal(), 100 * r.accNormCompressed(), r.meanKl(), 100 * r.top1Agreement());
      }

      @Override
      public String describe() {
        return String.format("%d Brown passages, %d cloze items (log-likelihood), %d self-generated passages",
            inputs.tasks().passages().size(), inputs.tasks().cloze().size(), inputs.generated().size());
      }

      @Override
      public String settings() {
        return String.format("causal LM: %s of %d tokens, seed %d, at most %d tokens per Brown passage", describe(),
            opts.generatedTokens, opts.seed, Eval.CAUSAL_MAX_TOKENS);
      }
    };
  }
}
