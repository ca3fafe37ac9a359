package org.seedlm.pipeline.run;

import org.seedlm.pipeline.BadInputException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.seedlm.pipeline.safetensors.TensorInfo;

/** Turns checkpoint headers and options into a {@link Plan}. Pure: no I/O, no engine. */
public final class Planner {
  private Planner() {}

  /**
   * G when none is asked for: {@value org.seedlm.pipeline.codec.SeedLmCodec#DEFAULT_GROUP_BLOCKS}, or the
   * largest power of two dividing {@code unitBlocks} when that is smaller (so units keep whole groups).
   */
  public static int defaultGroupBlocks(int unitBlocks) {
    int g = org.seedlm.pipeline.codec.SeedLmCodec.DEFAULT_GROUP_BLOCKS;
    return unitBlocks > 0 ? Math.min(g, Integer.lowestOneBit(unitBlocks)) : g;
  }

  /** A checkpoint tensor and the file that holds it. */
  public record SourceTensor(String shard, TensorInfo info) {}

  /**
   * Plans a run.
   *
   * @param tensors every tensor of the checkpoint
   * @param selection which tensors to quantize
   * @param blockSize the codec's block size
   * @param unitBlocks blocks per unit, a positive multiple of 8 (so units of any codec start on a byte)
   */
  public static Plan plan(List<SourceTensor> tensors, TensorSelection selection, int blockSize, int unitBlocks) {
    return plan(tensors, selection, blockSize, unitBlocks, 0);
  }

  /**
   * Plans a run whose codec has per-group side data (SeedLM format version 2: an exponent offset per
   * group of {@code groupBlocks} blocks). Units keep whole groups: units are cut every {@code
   * unitBlocks} blocks, so {@code unitBlocks} must be a multiple of {@code groupBlocks}, and every unit
   * computes its groups' offsets from the weights it reads.
   *
   * @param groupBlocks G, 0 for a codec without side data
   */
  public static Plan plan(List<SourceTensor> tensors, TensorSelection selection, int blockSize, int unitBlocks,
      int groupBlocks) {
    if (groupBlocks < 0 || (groupBlocks > 0 && unitBlocks > 0 && unitBlocks % groupBlocks != 0)) {
      throw new BadInputException(String.format(
          "Cannot plan with unit-blocks %d and group-blocks %d: units must hold whole offset groups, so unit-blocks "
              + "must be a multiple of group-blocks (set --group-blocks to a divisor of --unit-blocks, e.g. %d)",
          unitBlocks, groupBlocks, defaultGroupBlocks(unitBlocks)));
    }
    if (unitBlocks <= 0 || unitBlocks % 8 != 0) {
      throw new BadInputException(String.format(
          "Cannot plan with unit-blocks %d: it must be a positive multiple of 8 (set --unit-blocks)", unitBlocks));
    }
    if (blockSize <= 0) {
      throw new BadInputException("Cannot plan with block size " + blockSize);
    }
    return build(tensors, selection, blockSize, unitBlocks);
  }

  /**
   * Plans a run of a tensor-level codec ({@link org.seedlm.pipeline.codec.TensorCodec}): every selected tensor is
   * one unit of one "block", the whole tensor, so the plan has block size 0 and one block per unit. A selected
   * tensor too large for one encoding is refused here, before any run is touched
   * ({@link org.seedlm.pipeline.codec.TensorCodec#checkSize}).
   *
   * @param codec the codec's name, for the message
   */
  public static Plan planTensors(List<SourceTensor> tensors, TensorSelection selection, String codec) {
    Plan plan = build(tensors, selection, 0, 1);
    plan.tensors().forEach(t -> org.seedlm.pipeline.codec.TensorCodec.checkSize(codec, t.name(), t.numel(), -1));
    return plan;
  }

  /** The plan of the selected tensors, cut into units of {@code unitBlocks} blocks (block size 0: whole tensors). */
  private static Plan build(List<SourceTensor> tensors, TensorSelection selection, int blockSize, int unitBlocks) {
    List<SourceTensor> selected = new ArrayList<>();
    List<Plan.KeptTensor> kept = new ArrayList<>();
    for (SourceTensor t : tensors) {
      String reason = selection.keptReason(t.info());
      if (reason == null) {
        selected.add(t);
      } else {
        kept.add(new Plan.KeptTensor(t.info().name(), t.shard(), t.info().dtype().name(), t.info().shape(),
            reason));
      }
    }
    selected.sort(Comparator.comparingInt((SourceTensor t) -> TensorSelection.layerOf(t.info().name()))
        .thenComparing(t -> t.info().name()));
    kept.sort(Comparator.comparing(Plan.KeptTensor::name));

    List<PlannedTensor> planned = new ArrayList<>(selected.size());
    long nextUnit = 0;
    for (SourceTensor t : selected) {
      long numel = t.info().numel();
      long numBlocks = blockSize == 0 ? 1 : (numel + blockSize - 1) / blockSize;
      long numUnits = (numBlocks + unitBlocks - 1) / unitBlocks;
      if (nextUnit + numUnits > Integer.MAX_VALUE) {
        throw new BadInputException(String.format(
            "Cannot plan: more than %d units (raise --unit-blocks, now %d)", Integer.MAX_VALUE, unitBlocks));
      }
      String name = t.info().name();
      planned.add(new PlannedTensor(name, t.shard(), t.info().dtype().name(), t.info().shape(),
          TensorSelection.layerOf(name), TensorSelection.kindOf(name), numBlocks, (int) nextUnit, (int) numUnits));
      nextUnit += numUnits;
    }
    return new Plan(blockSize, unitBlocks, planned, kept);
  }
}
