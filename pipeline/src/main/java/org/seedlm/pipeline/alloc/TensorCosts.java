package org.seedlm.pipeline.alloc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.run.CommitMarker;
import org.seedlm.pipeline.run.Plan;
import org.seedlm.pipeline.run.PlannedTensor;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunSpec;

/**
 * What each finished run of one model measured per tensor: its codec's bits (blocks x bits per block, as
 * stored in the packed model) and the squared error and squared norm of the weights, summed from the commit
 * markers (the same sums as the Parquet tables, nothing is read again).
 */
public record TensorCosts(String run, String codec, String modelFingerprint, Map<String, Tensor> tensors) {
  /** One tensor of one run. */
  public record Tensor(String name, long weights, long bits, double sqErr, double sqNorm) {}

  /** Reads a finished run (every unit committed), else a {@link BadInputException} naming what is missing. */
  public static TensorCosts of(RunDirectory run) throws IOException {
    RunSpec spec = run.readSpec();
    Plan plan = run.readPlan();
    if (spec.tensorCodec()) {
      throw new BadInputException("Cannot use run " + run.root() + " for allocation: its codec " + spec.codec()
          + " is tensor-level, and allocation chooses among block codecs (give runs of block codecs)");
    }
    BlockCodec codec = spec.newCodec();
    Map<Integer, CommitMarker> commits = run.readCommits();
    if (commits.size() < plan.numUnits()) {
      throw new BadInputException("Cannot use run " + run.root() + " for allocation: " + commits.size() + " of "
          + plan.numUnits() + " units are committed (finish it with `seedlm quantize --run " + run.root() + "`)");
    }
    Map<String, double[]> sums = new LinkedHashMap<>();
    for (CommitMarker m : commits.values()) {
      double[] s = sums.computeIfAbsent(m.tensor(), t -> new double[2]);
      s[0] += m.sqErr();
      s[1] += m.sqNorm();
    }
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (PlannedTensor t : plan.tensors()) {
      double[] s = sums.getOrDefault(t.name(), new double[2]);
      tensors.put(t.name(), new Tensor(t.name(), t.numel(), codec.storedBits(t.numBlocks()), s[0], s[1]));
    }
    return new TensorCosts(run.root().toString(), spec.codec(), spec.modelFingerprint(), tensors);
  }

  /** What choosing a run for a tensor costs: of the run at index {@code run} of the runs, its tensor {@code t}. */
  @FunctionalInterface
  public interface Cost {
    double of(int run, Tensor t);
  }

  /**
   * The allocation problem over runs of one model: one item per tensor quantized by every run, one option
   * per run, cost = squared error. Refuses runs of different models or different tensor selections.
   */
  public static List<BitAllocator.Item> items(List<TensorCosts> runs) {
    return items(runs, (run, t) -> t.sqErr());
  }

  /** {@link #items(List)} with another cost per run and tensor. */
  public static List<BitAllocator.Item> items(List<TensorCosts> runs, Cost cost) {
    TensorCosts first = runs.get(0);
    for (TensorCosts r : runs) {
      if (!r.modelFingerprint().equals(first.modelFingerprint())) {
        throw new BadInputException("Cannot allocate over runs of different models: " + r.run() + " was made from "
            + "another checkpoint than " + first.run() + " (model fingerprints differ)");
      }
      if (!r.tensors().keySet().equals(first.tensors().keySet())) {
        throw new BadInputException("Cannot allocate over " + first.run() + " and " + r.run() + ": they quantized "
            + "different tensors (use the same --include/--exclude for every run)");
      }
    }
    List<BitAllocator.Item> items = new ArrayList<>();
    for (String name : first.tensors().keySet()) {
      List<BitAllocator.Option> options = new ArrayList<>();
      for (int i = 0; i < runs.size(); i++) {
        Tensor t = runs.get(i).tensors().get(name);
        options.add(new BitAllocator.Option(runs.get(i).codec(), t.bits(), cost.of(i, t)));
      }
      items.add(new BitAllocator.Item(name, first.tensors().get(name).weights(), options));
    }
    return items;
  }
}
