package org.seedlm.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.alloc.BitAllocator;
import org.seedlm.pipeline.alloc.MixedModel;
import org.seedlm.pipeline.alloc.Sensitivity;
import org.seedlm.pipeline.alloc.TensorCosts;
import org.seedlm.pipeline.eval.BrownCorpus;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.tools.DecodedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code seedlm allocate}: one codec per tensor at a target size, from the errors finished runs measured. */
@Command(name = "allocate", mixinStandardHelpOptions = true,
    description = {"Choose one codec per tensor from finished runs of one model (one run per codec) so that the "
        + "bits per weight of the quantized tensors are at most the target and the objective is smallest: an exact "
        + "dynamic program over the sizes. Objective sq-err (default): the total squared weight error, from the "
        + "runs' own measurements (data-free). Objective kl: the sum over tensors of the zero-shot KL of the model "
        + "with only that tensor quantized (one evaluation per tensor and codec, stored in each run's "
        + Sensitivity.FILE + " and reused).",
        "Prints the choice per tensor, the predicted objective, and each single codec for comparison."})
final class Allocate implements Callable<Integer> {
  @Option(names = "--runs", split = ",", required = true, description = "Finished runs of the same model, "
      + "comma-separated (e.g. work/runs/bert-seedlm-3bit,work/runs/bert-seedlm-4bit)")
  List<String> runs = new ArrayList<>();

  @Option(names = "--target-bpw", description = "Largest bits per weight of the quantized tensors (codes, scales and"
      + " seeds as stored)")
  Double targetBpw;

  @Option(names = "--target-bytes", description = "Largest bytes of the quantized tensors, instead of --target-bpw")
  Long targetBytes;

  @Option(names = "--out", description = "Also write the allocated model here (new or empty directory): a mixed "
      + "packed model of each chosen tensor's packed bytes from its run (assembled; nothing is searched again), "
      + "which verify, eval, export and generate accept like a run")
  String out;

  @Option(names = "--shard-size", description = "With --out: largest output file (default 4g)")
  String shardSize;

  @Option(names = "--objective", description = "What the allocation minimizes: sq-err (total squared weight error, "
      + "data-free) or kl (sum of each tensor's zero-shot KL when quantized alone; tensors x codecs evaluations, "
      + "stored in the runs) (default: ${DEFAULT-VALUE})")
  String objective = Objective.SQ_ERR.option;

  @Option(names = "--model", description = "With --objective kl: the original model directory (default: the model "
      + "the first run was quantized from)")
  String model;

  @Option(names = "--items", description = "With --objective kl: cloze items of the evaluation, as report's "
      + "(default: ${DEFAULT-VALUE})")
  int items = 200;

  @Option(names = "--brown", description = "With --objective kl: Brown corpus folder (default: -Dseedlm.brown.dir, "
      + "else work/data)")
  String brown;

  @Mixin
  Cli.HadoopOptions hadoop = new Cli.HadoopOptions();

  @Override
  public Integer call() throws Exception {
    if ((targetBpw == null) == (targetBytes == null)) {
      throw new BadInputException("Cannot allocate: give exactly one of --target-bpw and --target-bytes");
    }
    if ((targetBpw != null && !(targetBpw > 0)) || (targetBytes != null && targetBytes <= 0)) {
      throw new BadInputException("Cannot allocate: the target must be > 0");
    }
    Objective obj = Objective.parse("allocate", objective);
    Configuration conf = hadoop.hadoopConf();
    List<RunDirectory> sources = new ArrayList<>();
    for (String r : runs) {
      sources.add(RunDirectory.at(r, conf));
    }
    Report.Evaluation kl = null;
    if (obj == Objective.KL) {
      Path modelDir = new Path(model != null ? model : MixedModel.spec(sources.get(0)).model());
      BrownCorpus corpus = brown == null ? BrownCorpus.load() : BrownCorpus.load(java.nio.file.Paths.get(brown));
      kl = Report.evaluation(conf, modelDir, corpus, items, SeedLmConf.load().progressSeconds());
    }
    Measured m = Measured.of(sources, kl);
    long maxBits = targetBytes != null ? 8 * targetBytes : m.maxBits(targetBpw);
    BitAllocator.Result res = BitAllocator.solve(m.items(), maxBits);

    System.out.printf(Locale.ROOT, "[allocate] %d runs, %d tensors, %,d weights; target %,d bits (%.4f bits/weight); "
        + "%s dynamic program on a %,d-bit grid%n", m.runs().size(), m.items().size(), m.weights(), maxBits,
        (double) maxBits / m.weights(), res.exact() ? "exact"
            : String.format(Locale.ROOT, "rounded-up (feasible; the optimum is at least %.6g, this choice %.6g)",
                res.lowerBound(), res.cost()),
        res.gridBits());
    boolean byKl = obj == Objective.KL;
    System.out.printf("%-56s %-17s %8s %9s%s%n", "tensor", "codec", "bits/w", "rel_err", byKl ? "  KL alone" : "");
    double[] rel = m.relErrors(res.choice());
    for (int i = 0; i < m.items().size(); i++) {
      BitAllocator.Item it = m.items().get(i);
      BitAllocator.Option o = it.options().get(res.choice()[i]);
      System.out.printf(Locale.ROOT, "%-56s %-17s %8.3f %9.4f%s%n", it.name(), o.codec(),
          (double) o.bits() / it.weights(), rel[i], byKl ? String.format(Locale.ROOT, " %10.5f", o.cost()) : "");
    }
    System.out.println();
    System.out.println(m.summary("allocated", res.choice(), byKl, ""));
    for (int r = 0; r < m.runs().size(); r++) {
      int[] all = new int[m.items().size()];
      java.util.Arrays.fill(all, r);
      long bits = m.runs().get(r).tensors().values().stream().mapToLong(TensorCosts.Tensor::bits).sum();
      System.out.println(m.summary(m.runs().get(r).codec(), all, byKl, bits <= maxBits ? "" : " (over the target)"));
    }
    System.out.println("(relative error: sqrt of total squared error over total squared norm" + (byKl ? "; predicted "
        + "KL: the sum over tensors of the KL with that tensor alone quantized, stored in its run's " + Sensitivity.FILE
        : "") + ")");
    if (out != null) {
      SeedLmConf c = SeedLmConf.load();
      long max = SeedLmConf.parseBytes(SeedLmConf.SHARD_SIZE,
          c.get(SeedLmConf.SHARD_SIZE, shardSize, SeedLmConf.SHARD_SIZE_DEFAULT));
      m.write(sources, maxBits, res, RunDirectory.at(out, conf), max);
      System.out.printf("[allocate] wrote the allocated model to %s/%s (%s lists each tensor's run; verify, eval, "
          + "export and generate take --run/--packed %s)%n", out, RunDirectory.PACKED, MixedModel.ALLOCATION, out);
    }
    return Cli.OK;
  }

  /** What {@code --objective} selects, for {@code allocate} and {@code report --allocate}. */
  enum Objective {
    SQ_ERR("sq-err"), KL("kl");

    final String option;

    Objective(String option) {
      this.option = option;
    }

    /** The objective named by {@code --objective value} of {@code command}, else a {@link BadInputException}. */
    static Objective parse(String command, String value) {
      for (Objective o : values()) {
        if (o.option.equals(value)) {
          return o;
        }
      }
      throw new BadInputException("Cannot " + command + ": --objective " + value + " is not one of sq-err (total "
          + "squared weight error, data-free) and kl (each tensor's zero-shot KL when quantized alone)");
    }
  }

  /**
   * The runs' measurements as the solver's items (one per tensor, one option per run); the cost of an option is
   * its squared error, or with {@code kl} the KL of the model with only that tensor quantized by that run's codec
   * (from each run's {@value Sensitivity#FILE}, measured with {@code kl} where missing).
   */
  record Measured(List<TensorCosts> runs, List<BitAllocator.Item> items, long weights, double sqNorm) {
    static Measured of(List<RunDirectory> sources, Report.Evaluation kl) throws java.io.IOException {
      List<TensorCosts> measured = new ArrayList<>();
      for (RunDirectory r : sources) {
        measured.add(TensorCosts.of(r));
      }
      List<BitAllocator.Item> items = TensorCosts.items(measured); // checks the runs are of one model
      if (kl != null) {
        System.out.printf("[allocate] objective kl: %d tensors x %d codecs = %d evaluations (%s), each stored in "
            + "its run's %s%n", items.size(), measured.size(), items.size() * measured.size(), kl.settings(),
            Sensitivity.FILE);
        List<Map<String, Double>> klAlone = new ArrayList<>();
        for (int r = 0; r < sources.size(); r++) {
          String codec = measured.get(r).codec();
          klAlone.add(Sensitivity.of(sources.get(r), measured.get(r), kl.settings(),
              (t, decoded) -> kl.evaluate(DecodedModel.replacing(codec, t, decoded)).meanKl(), System.out));
        }
        items = TensorCosts.items(measured, (r, t) -> klAlone.get(r).get(t.name()));
      }
      return new Measured(measured, items, items.stream().mapToLong(BitAllocator.Item::weights).sum(),
          measured.get(0).tensors().values().stream().mapToDouble(TensorCosts.Tensor::sqNorm).sum());
    }

    /** One line: a choice's bits per weight, relative error and, with {@code kl}, predicted KL. */
    String summary(String label, int[] choice, boolean kl, String suffix) {
      long bits = 0;
      double err = 0;
      double cost = 0;
      for (int i = 0; i < items.size(); i++) {
        BitAllocator.Option o = items.get(i).options().get(choice[i]);
        bits += o.bits();
        cost += o.cost();
        err += runs.get(choice[i]).tensors().get(items.get(i).name()).sqErr();
      }
      return String.format(Locale.ROOT, "%-18s %8.4f bits/weight, relative error %.5f%s%s", label,
          (double) bits / weights, Math.sqrt(err / sqNorm), kl ? String.format(Locale.ROOT, " and predicted KL %.5f",
          cost) : "", suffix);
    }

    /** The bits of a target in bits per weight of the quantized tensors. */
    long maxBits(double bitsPerWeight) {
      return (long) Math.floor(bitsPerWeight * weights);
    }

    /** Each tensor's relative error (sqrt of squared error over squared norm) under a choice, in item order. */
    double[] relErrors(int[] choice) {
      double[] rel = new double[items.size()];
      for (int i = 0; i < rel.length; i++) {
        TensorCosts.Tensor t = runs.get(choice[i]).tensors().get(items.get(i).name());
        rel[i] = Math.sqrt(t.sqErr() / t.sqNorm());
      }
      return rel;
    }

    /** A choice as tensor name to index in the runs. */
    Map<String, Integer> choice(BitAllocator.Result res) {
      Map<String, Integer> choice = new TreeMap<>();
      for (int i = 0; i < items.size(); i++) {
        choice.put(items.get(i).name(), res.choice()[i]);
      }
      return choice;
    }

    /** Writes the mixed packed model of a choice into {@code out} (new or empty). */
    void write(List<RunDirectory> sources, long maxBits, BitAllocator.Result res, RunDirectory out, long maxShard)
        throws java.io.IOException {
      MixedModel.build(sources, choice(res), maxBits, res.bits(), out, maxShard);
    }
  }
}
