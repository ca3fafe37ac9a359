package org.seedlm.pipeline.run;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The immutable plan of a run: which tensors are quantized, how they are cut into units, and which
 * tensors are kept at their original precision. Built from checkpoint headers only, so planning a
 * 70B checkpoint takes milliseconds; units are derived arithmetically, never stored one by one.
 *
 * @param blockSize weights per block (the codec's)
 * @param unitBlocks blocks per unit (the last unit of a tensor may be shorter)
 * @param tensors quantized tensors in unit order
 * @param kept tensors copied unchanged into the packed model, in name order
 */
public record Plan(int blockSize, int unitBlocks, List<PlannedTensor> tensors, List<KeptTensor> kept)
    implements java.io.Serializable {

  /**
   * A tensor that is not quantized, and why ({@link TensorSelection#keptReason}; null in a plan written before
   * seedlm recorded reasons). The reason is descriptive: it takes no part in {@link #equals}.
   */
  public record KeptTensor(String name, String shard, String dtype, long[] shape, String reason)
      implements java.io.Serializable {
    public KeptTensor {
      shape = shape.clone();
    }

    /** Whether this is a 2-D or 3-D floating tensor: a weight that a reader expects to be accounted for. */
    public boolean floatWeight() {
      return (shape.length == 2 || shape.length == 3)
          && org.seedlm.pipeline.safetensors.DType.parse(dtype).isFloating();
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof KeptTensor k && k.name.equals(name) && k.shard.equals(shard)
          && k.dtype.equals(dtype) && Arrays.equals(k.shape, shape);
    }

    @Override
    public int hashCode() {
      return name.hashCode();
    }
  }

  public Plan {
    tensors = List.copyOf(tensors);
    kept = List.copyOf(kept);
  }

  /** The kept 2-D and 3-D float weights ({@link KeptTensor#floatWeight}), counted by reason, in reason order. */
  public java.util.SortedMap<String, Integer> keptWeightsByReason() {
    java.util.SortedMap<String, Integer> out = new java.util.TreeMap<>();
    kept.stream().filter(KeptTensor::floatWeight)
        .forEach(k -> out.merge(k.reason() == null ? "not recorded" : k.reason(), 1, Integer::sum));
    return out;
  }

  /** Total number of units. */
  public int numUnits() {
    if (tensors.isEmpty()) {
      return 0;
    }
    PlannedTensor last = tensors.get(tensors.size() - 1);
    return last.firstUnit() + last.numUnits();
  }

  /** Total number of blocks. */
  public long numBlocks() {
    return tensors.stream().mapToLong(PlannedTensor::numBlocks).sum();
  }

  /** Total number of quantized weights. */
  public long numWeights() {
    return tensors.stream().mapToLong(PlannedTensor::numel).sum();
  }

  /** The tensor that owns unit {@code id}. */
  public PlannedTensor tensorOfUnit(int id) {
    if (id < 0 || id >= numUnits()) {
      throw new IllegalArgumentException("Cannot find unit " + id + ": the plan has " + numUnits() + " units");
    }
    int lo = 0;
    int hi = tensors.size() - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (tensors.get(mid).firstUnit() <= id) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return tensors.get(lo);
  }

  /** Unit {@code id}. */
  public WorkUnit unit(int id) {
    PlannedTensor t = tensorOfUnit(id);
    long first = (long) (id - t.firstUnit()) * unitBlocks;
    int n = (int) Math.min(unitBlocks, t.numBlocks() - first);
    return new WorkUnit(id, t.name(), t.shard(), first, n);
  }

  /** All units, in id order. */
  public List<WorkUnit> units() {
    List<WorkUnit> out = new ArrayList<>(numUnits());
    for (int i = 0; i < numUnits(); i++) {
      out.add(unit(i));
    }
    return out;
  }

  /** The planned tensor called {@code name}, or null. */
  public PlannedTensor tensor(String name) {
    for (PlannedTensor t : tensors) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    return null;
  }
}
