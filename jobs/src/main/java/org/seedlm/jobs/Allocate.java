package org.seedlm.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.alloc.BitAllocator;
import org.seedlm.pipeline.alloc.MixedModel;
import org.seedlm.pipeline.alloc.TensorCosts;
import org.seedlm.pipeline.run.RunDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code seedlm allocate}: one codec per tensor at a target size, from the errors finished runs measured. */
@Command(name = "allocate", mixinStandardHelpOptions = true,
    description = {"Choose one codec per tensor from finished runs of one model (one run per codec) so that the "
        + "bits per weight of the quantized tensors are at most the target and the total squared weight error "
        + "(from the runs' own measurements, data-free) is smallest: an exact dynamic program over the sizes.",
        "Prints the choice per tensor, the predicted error, and each single codec for comparison."})
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
    Configuration conf = hadoop.hadoopConf();
    List<RunDirectory> sources = new ArrayList<>();
    for (String r : runs) {
      sources.add(RunDirectory.at(r, conf));
    }
    Measured m = Measured.of(sources);
    long maxBits = targetBytes != null ? 8 * targetBytes : m.maxBits(targetBpw);
    BitAllocator.Result res = BitAllocator.solve(m.items(), maxBits);

    System.out.printf(Locale.ROOT, "[allocate] %d runs, %d tensors, %,d weights; target %,d bits (%.4f bits/weight); "
        + "%s dynamic program on a %,d-bit grid%n", m.runs().size(), m.items().size(), m.weights(), maxBits,
        (double) maxBits / m.weights(), res.exact() ? "exact" : "rounded-up (feasible, maybe not optimal)",
        res.gridBits());
    System.out.printf("%-56s %-17s %8s %9s%n", "tensor", "codec", "bits/w", "rel_err");
    for (int i = 0; i < m.items().size(); i++) {
      BitAllocator.Item it = m.items().get(i);
      BitAllocator.Option o = it.options().get(res.choice()[i]);
      System.out.printf(Locale.ROOT, "%-56s %-17s %8.3f %9.4f%n", it.name(), o.codec(), (double) o.bits() / it.weights(),
          m.relErrors(res)[i]);
    }
    System.out.printf(Locale.ROOT, "%nallocated          %8.4f bits/weight, relative error %.5f (sqrt of total squared "
        + "error over total squared norm)%n", (double) res.bits() / m.weights(), Math.sqrt(res.cost() / m.sqNorm()));
    for (TensorCosts t : m.runs()) {
      long bits = t.tensors().values().stream().mapToLong(TensorCosts.Tensor::bits).sum();
      double err = t.tensors().values().stream().mapToDouble(TensorCosts.Tensor::sqErr).sum();
      System.out.printf(Locale.ROOT, "%-18s %8.4f bits/weight, relative error %.5f%s%n", t.codec(),
          (double) bits / m.weights(), Math.sqrt(err / m.sqNorm()), bits <= maxBits ? "" : " (over the target)");
    }
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

  /** The runs' measurements as the solver's items (one per tensor, one option per run). */
  record Measured(List<TensorCosts> runs, List<BitAllocator.Item> items, long weights, double sqNorm) {
    static Measured of(List<RunDirectory> sources) throws java.io.IOException {
      List<TensorCosts> measured = new ArrayList<>();
      for (RunDirectory r : sources) {
        measured.add(TensorCosts.of(r));
      }
      List<BitAllocator.Item> items = TensorCosts.items(measured);
      return new Measured(measured, items, items.stream().mapToLong(BitAllocator.Item::weights).sum(),
          measured.get(0).tensors().values().stream().mapToDouble(TensorCosts.Tensor::sqNorm).sum());
    }

    /** The bits of a target in bits per weight of the quantized tensors. */
    long maxBits(double bitsPerWeight) {
      return (long) Math.floor(bitsPerWeight * weights);
    }

    /** Each tensor's relative error (sqrt of squared error over squared norm) under a choice, in item order. */
    double[] relErrors(BitAllocator.Result res) {
      double[] rel = new double[items.size()];
      for (int i = 0; i < rel.length; i++) {
        BitAllocator.Item it = items.get(i);
        rel[i] = Math.sqrt(it.options().get(res.choice()[i]).cost() / runs.get(0).tensors().get(it.name()).sqNorm());
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
