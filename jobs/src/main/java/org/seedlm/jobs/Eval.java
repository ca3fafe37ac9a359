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
import org.seedlm.pipeline.eval.Evaluator;
import org.seedlm.pipeline.eval.WordPieceTokenizer;
import org.seedlm.pipeline.pack.PackedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code seedlm eval}: zero-shot evaluation of BERT (masked LM) on the Brown corpus, original against
 * packed, with a publish gate (exit code {@value org.seedlm.pipeline.eval.EvalGate#EXIT_GATE_FAILED}).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Zero-shot evaluation of a BERT masked-LM on the Brown corpus (4-way POS-matched cloze, "
        + "MLM pseudo-perplexity), and of its packed (compressed) version against it (KL divergence, top-1 "
        + "agreement). Gate: exit code 4 when the cloze accuracy drops more than --max-drop-accuracy points "
        + "or the mean KL exceeds --max-kl.",
        "Needs the corpus: run deploy/fetch-brown first (or pass --brown)."})
final class Eval implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Original model directory (model.safetensors, vocab.txt)")
  String model;

  @Option(names = "--packed", description = "Packed model directory (RUN/packed, or RUN itself) to compare")
  String packed;

  @Mixin
  Options opts = new Options();

  @Mixin
  Cli.HadoopOptions hadoop = new Cli.HadoopOptions();

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

    @Option(names = "--max-drop-accuracy", description = "Gate: largest allowed cloze accuracy drop in points "
        + "(default by bits/weight: >=4 bits 2, 3 bits 6, <=2 bits 10)")
    Double maxDrop;

    @Option(names = "--max-kl", description = "Gate: largest allowed mean KL(original||compressed) in nats "
        + "(default: no limit)")
    Double maxKl;
  }

  @Override
  public Integer call() throws Exception {
    if (opts.items < 0 || (opts.mlmSentences != null && opts.mlmSentences < 0)) {
      throw new BadInputException("--items and --mlm-sentences must be >= 0");
    }
    Configuration conf = hadoop.hadoopConf();
    Path modelDir = new Path(model);
    WordPieceTokenizer tok = WordPieceTokenizer.load(new Path(modelDir, "vocab.txt"), conf);
    BrownCorpus corpus = opts.brown == null ? BrownCorpus.load() : BrownCorpus.load(Paths.get(opts.brown));
    int nMlm = opts.mlmSentences != null ? opts.mlmSentences : Math.max(1, opts.items / 2);
    EvalTasks tasks = EvalTasks.build(corpus, tok, opts.items, nMlm, opts.seed);
    System.err.printf("[eval] %d cloze items, %d MLM sentences from %s%n", tasks.cloze().size(),
        tasks.mlm().size(), corpus.dir());
    BertModel original = BertModel.loadCheckpoint(modelDir, conf);
    BertModel compressed = null;
    double bits = Double.NaN;
    if (packed != null) {
      Path p = new Path(packed);
      FileSystem fs = p.getFileSystem(conf);
      if (fs.isDirectory(new Path(p, "packed")) && !fs.exists(new Path(p, "model.safetensors"))) {
        p = new Path(p, "packed");
      }
      try (PackedModel pm = PackedModel.open(p, conf)) {
        bits = EvalGate.bitsPerWeight(pm);
        compressed = BertModel.load(pm);
      }
      System.err.printf(Locale.ROOT, "[eval] packed model %s: %d quantized tensors, %.3f bits/weight%n", p,
          countQuantized(p, conf), bits);
    }
    int total = tasks.cloze().size() + tasks.mlm().size();
    EvalReport r = Evaluator.evaluate(original, compressed, tasks, done -> {
      if (done % 25 == 0 || done == total) {
        System.err.printf("[eval] %d/%d%n", done, total);
      }
    });
    System.out.print(r.format());
    if (compressed == null) {
      return Cli.OK;
    }
    double drop = opts.maxDrop != null ? opts.maxDrop : EvalGate.defaultMaxDropPoints(bits);
    double kl = opts.maxKl != null ? opts.maxKl : Double.NaN;
    List<String> v = EvalGate.violations(r, drop, kl);
    System.out.printf(Locale.ROOT, "gate: max accuracy drop %.2f points%s: %s%n", drop,
        Double.isNaN(kl) ? "" : String.format(Locale.ROOT, ", max KL %.5f", kl), v.isEmpty() ? "PASS" : "FAIL");
    for (String s : v) {
      System.err.println("seedlm: eval gate: " + s);
    }
    return v.isEmpty() ? Cli.OK : EvalGate.EXIT_GATE_FAILED;
  }

  private static int countQuantized(Path p, Configuration conf) throws java.io.IOException {
    try (PackedModel pm = PackedModel.open(p, conf)) {
      return pm.quantized().size();
    }
  }
}
