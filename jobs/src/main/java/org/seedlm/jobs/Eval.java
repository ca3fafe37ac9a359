package org.seedlm.jobs;

import org.seedlm.pipeline.BadInputException;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.eval.BertModel;
import org.seedlm.pipeline.eval.BrownCorpus;
import org.seedlm.pipeline.eval.EvalGate;
import org.seedlm.pipeline.eval.EvalReport;
import org.seedlm.pipeline.eval.EvalTasks;
import org.seedlm.pipeline.eval.ModelFamily;
import org.seedlm.pipeline.eval.Evaluator;
import org.seedlm.pipeline.eval.WordPieceTokenizer;
import org.seedlm.pipeline.eval.ZeroShotReport;
import org.seedlm.pipeline.eval.llama.CausalEvaluator;
import org.seedlm.pipeline.eval.llama.CausalReport;
import org.seedlm.pipeline.eval.llama.CausalTasks;
import org.seedlm.pipeline.eval.llama.HfTokenizer;
import org.seedlm.pipeline.eval.llama.LlamaWeights;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.tools.DecodedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code seedlm eval}: zero-shot evaluation of BERT (masked LM) or of a Llama-family causal LM (picked
 * from config.json) on the Brown corpus, original against packed, with a publish gate (exit code {@value org.seedlm.pipeline.eval.EvalGate#EXIT_GATE_FAILED}).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Zero-shot evaluation of a BERT masked-LM on the Brown corpus (4-way POS-matched cloze, "
        + "MLM pseudo-perplexity), and of its packed (compressed) version against it (KL divergence, top-1 "
        + "agreement). Gate: exit code 4 when the cloze accuracy drops more than --max-drop-accuracy points "
        + "or the mean KL exceeds --max-kl.",
        "Llama-family models (config.json model_type llama, mistral, qwen2) get the causal tasks instead: Brown "
        + "perplexity, 4-way cloze scored by log-likelihood (acc, acc_norm), self-generated passages, KL and "
        + "top-1 agreement at every position; the same gate on acc.",
        "Needs the corpus: run deploy/fetch-brown first (or pass --brown)."})
final class Eval implements Callable<Integer> {
  /** Longest Brown sequence given to a causal LM, in tokens (BOS included). */
  static final int CAUSAL_MAX_TOKENS = 128;

  @Option(names = "--model", required = true, description = "Original model directory: BERT (model.safetensors, "
      + "vocab.txt) or a Llama-family causal LM (config.json, safetensors, tokenizer.json)")
  String model;

  @Option(names = "--packed", description = "Packed model directory (RUN/packed, or RUN itself) to compare")
  String packed;

  @Mixin
  Options opts = new Options();

  @Mixin
  Cli.HadoopOptions hadoop = new Cli.HadoopOptions();

  /** The publish gate's limits, shared by {@code eval}, {@code verify --eval} and {@code report}. */
  static final class GateOptions {
    @Option(names = "--max-drop-accuracy", description = "Gate: largest allowed cloze accuracy drop in points "
        + "(default by bits/weight: >=4 bits 2, 3 bits 6, <=2 bits 10)")
    Double maxDrop;

    @Option(names = "--max-kl", description = "Gate: largest allowed mean KL(original||compressed) in nats "
        + "(default: no limit)")
    Double maxKl;

    /** The accuracy-drop limit for a packed model of {@code bitsPerWeight}. */
    double maxDropPoints(double bitsPerWeight) {
      return maxDrop != null ? maxDrop : EvalGate.defaultMaxDropPoints(bitsPerWeight);
    }

    /** The KL limit, NaN for none. */
    double maxKl() {
      return maxKl != null ? maxKl : Double.NaN;
    }
  }

  /** The evaluation and gate options, shared by {@code eval} and {@code verify --eval}. */
  static final class Options {
    @Option(names = "--items", description = "Cloze items (default: ${DEFAULT-VALUE})")
    int items = 300;

    @Option(names = "--mlm-sentences", description = "Held-out sentences for MLM pseudo-perplexity "
        + "(default: half of --items)")
    Integer mlmSentences;

    @Option(names = "--seed", description = "Item selection seed (default: ${DEFAULT-VALUE})")
    long seed = EvalTasks.DEFAULT_SEED;

    @Option(names = "--brown", description = "Brown corpus folder (default: -Dseedlm.brown.dir, else work/data)")
    String brown;

    @Option(names = "--generated", description = "Causal LMs: passages sampled from the original (temperature 1, "
        + "top-p 0.95, --seed) and scored by both models (default: ${DEFAULT-VALUE})")
    int generated = 8;

    @Option(names = "--generated-tokens", description = "Causal LMs: tokens per self-generated passage "
        + "(default: ${DEFAULT-VALUE})")
    int generatedTokens = 64;

    @Mixin
    GateOptions gate = new GateOptions();
  }

  @Override
  public Integer call() throws Exception {
    if (opts.items < 0 || (opts.mlmSentences != null && opts.mlmSentences < 0)) {
      throw new BadInputException("--items and --mlm-sentences must be >= 0");
    }
    Configuration conf = hadoop.hadoopConf();
    Path modelDir = new Path(model);
    ModelFamily family = ModelFamily.of(conf, modelDir);
    BrownCorpus corpus = opts.brown == null ? BrownCorpus.load() : BrownCorpus.load(Paths.get(opts.brown));
    Path p = packed == null ? null : packedDir(new Path(packed), conf);
    if (family == ModelFamily.LLAMA) {
      return gate(evaluateCausal(conf, modelDir, p, opts, corpus), p, conf);
    }
    WordPieceTokenizer tok = WordPieceTokenizer.load(new Path(modelDir, "vocab.txt"), conf);
    int nMlm = opts.mlmSentences != null ? opts.mlmSentences : Math.max(1, opts.items / 2);
    EvalTasks tasks = EvalTasks.build(corpus, tok, opts.items, nMlm, opts.seed);
    System.err.printf("[eval] %d cloze items, %d MLM sentences from %s%n", tasks.cloze().size(),
        tasks.mlm().size(), corpus.dir());
    BertModel original = BertModel.loadCheckpoint(modelDir, conf);
    BertModel compressed = null;
    if (p != null) {
      try (PackedModel pm = PackedModel.open(p, conf)) {
        compressed = BertModel.load(pm);
      }
    }
    int total = tasks.cloze().size() + tasks.mlm().size();
    java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
    EvalReport r;
    try (Progress bar = new Progress("eval", "items", total, done::get, null, 0, null, null,
        SeedLmConf.load().progressSeconds(), System.err)) {
      r = Evaluator.evaluate(original, compressed, tasks, done::set);
    }
    return gate(r, p, conf);
  }

  /** RUN/packed when given a run directory, else the directory itself. */
  static Path packedDir(Path p, Configuration conf) throws java.io.IOException {
    FileSystem fs = p.getFileSystem(conf);
    if (fs.isDirectory(new Path(p, "packed")) && !fs.exists(new Path(p, "model.safetensors"))) {
      return new Path(p, "packed");
    }
    return p;
  }

  /**
   * The causal zero-shot evaluation of a Llama-family model ({@code packed} null: the original only), in one
   * layer-streaming pass.
   */
  static CausalReport evaluateCausal(Configuration conf, Path modelDir, Path packed, Options opts,
      BrownCorpus corpus) throws java.io.IOException {
    return CausalInputs.prepare(conf, modelDir, opts, corpus).evaluate(packed);
  }

  /**
   * What a causal evaluation runs, built once (and reused by {@code report} for every codec): {@code --items}
   * cloze items, half as many Brown passages (or {@code --mlm-sentences}), and {@code --generated} passages
   * sampled from the original.
   */
  record CausalInputs(Configuration conf, Path modelDir, CausalTasks tasks, List<int[]> generated) {
    static CausalInputs prepare(Configuration conf, Path modelDir, Options opts, BrownCorpus corpus)
        throws java.io.IOException {
      int nPassages = opts.mlmSentences != null ? opts.mlmSentences : Math.max(1, opts.items / 2);
      try (HfTokenizer tok = HfTokenizer.load(conf, modelDir);
          LlamaWeights original = LlamaWeights.checkpoint(conf, modelDir)) {
        int maxTokens = Math.min(CAUSAL_MAX_TOKENS, original.config().maxPositions());
        CausalTasks tasks = CausalTasks.build(corpus, tok, nPassages, opts.items, maxTokens, opts.seed);
        int genTokens = Math.min(opts.generatedTokens, original.config().maxPositions() - 1);
        System.err.printf("[eval] %s: %d Brown passages, %d cloze items from %s, %d self-generated passages of %d"
            + " tokens%n", original.config().modelType(), tasks.passages().size(), tasks.cloze().size(),
            corpus.dir(), opts.generated, genTokens);
        return new CausalInputs(conf, modelDir, tasks,
            CausalEvaluator.selfGenerated(original, opts.generated, genTokens, opts.seed));
      }
    }

    /** Original against {@code packed} (null: the original only). */
    CausalReport evaluate(Path packed) throws java.io.IOException {
      try (LlamaWeights original = LlamaWeights.checkpoint(conf, modelDir);
          LlamaWeights compressed = packed == null ? null : LlamaWeights.packed(conf, modelDir, packed)) {
        return evaluate(original, compressed);
      }
    }

    /** Original against a model decoded in memory. */
    CausalReport evaluate(DecodedModel decoded) throws java.io.IOException {
      try (LlamaWeights original = LlamaWeights.checkpoint(conf, modelDir);
          LlamaWeights compressed = decoded.llama(LlamaWeights.checkpoint(conf, modelDir))) {
        return evaluate(original, compressed);
      }
    }

    private CausalReport evaluate(LlamaWeights original, LlamaWeights compressed) throws java.io.IOException {
      return CausalEvaluator.evaluate(original, compressed, tasks, generated,
          line -> System.err.println("[eval] " + line));
    }
  }

  /** Prints the table and, with a packed model, the gate's verdict; the exit code. */
  private Integer gate(ZeroShotReport r, Path p, Configuration conf) throws java.io.IOException {
    System.out.print(r.format());
    if (p == null) {
      return Cli.OK;
    }
    double bits;
    try (PackedModel pm = PackedModel.open(p, conf)) {
      bits = EvalGate.bitsPerWeight(pm);
      System.err.printf(Locale.ROOT, "[eval] packed model %s: %d quantized tensors, %.3f bits/weight%n", p,
          pm.quantized().size(), bits);
    }
    double drop = opts.gate.maxDropPoints(bits);
    double kl = opts.gate.maxKl();
    List<String> v = EvalGate.violations(r, drop, kl);
    System.out.printf(Locale.ROOT, "gate: max accuracy drop %.2f points%s: %s%n", drop,
        Double.isNaN(kl) ? "" : String.format(Locale.ROOT, ", max KL %.5f", kl), v.isEmpty() ? "PASS" : "FAIL");
    for (String s : v) {
      System.err.println("seedlm: eval gate: " + s);
    }
    return v.isEmpty() ? Cli.OK : EvalGate.EXIT_GATE_FAILED;
  }
}
