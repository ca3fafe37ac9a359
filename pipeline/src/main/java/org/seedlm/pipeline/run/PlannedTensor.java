package org.seedlm.pipeline.run;

import java.util.Arrays;

/**
 * A tensor selected for quantization, cut into blocks and grouped into units.
 *
 * @param name tensor name
 * @param shard checkpoint file holding it
 * @param dtype original dtype name (F32, F16, BF16)
 * @param shape original shape
 * @param layer transformer block index, or -1
 * @param kind q, k, v, o, gate, up, down, ...
 * @param numBlocks blocks of the codec's block size (the last one zero-padded)
 * @param firstUnit id of its first unit
 * @param numUnits number of units
 */
public record PlannedTensor(String name, String shard, String dtype, long[] shape, int layer, String kind,
    long numBlocks, int firstUnit, int numUnits) implements java.io.Serializable {

  public PlannedTensor {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of weights: the product of the shape. */
  public long numel() {
    return org.seedlm.pipeline.safetensors.TensorInfo.numel(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PlannedTensor t && t.name.equals(name) && t.shard.equals(shard)
        && t.dtype.equals(dtype) && Arrays.equals(t.shape, shape) && t.layer == layer
        && t.kind.equals(kind) && t.numBlocks == numBlocks && t.firstUnit == firstUnit
        && t.numUnits == numUnits;
  }

  @Override
  public int hashCode() {
    return name.hashCode();
  }
}
