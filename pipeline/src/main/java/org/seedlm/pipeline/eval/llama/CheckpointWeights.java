package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * {@link LlamaWeights} over a safetensors checkpoint and, for a compressed model, a packed model:
 * a quantized tensor is decoded by {@link PackedModel#decode}, a kept one is read from the packed
 * model, anything else from the original checkpoint.
 */
final class CheckpointWeights implements LlamaWeights {
  private final LlamaConfig config;
  private final Checkpoint original;
  private final PackedModel packed; // null for the original model

  CheckpointWeights(LlamaConfig config, Checkpoint original, PackedModel packed) {
    this.config = config;
    this.original = original;
    this.packed = packed;
  }

  @Override
  public LlamaConfig config() {
    return config;
  }

  /** The checkpoint that stores {@code name} as plain floats, or null when it is quantized or absent. */
  private Checkpoint plain(String name) {
    if (packed != null) {
      if (packed.quantized().containsKey(name)) {
        return null;
      }
      if (packed.checkpoint().tensors().containsKey(name)) {
        return packed.checkpoint();
      }
    }
    return original.tensors().containsKey(name) ? original : null;
  }

  @Override
  public long[] shape(String name) {
    if (packed != null && packed.quantized().containsKey(name)) {
      return packed.quantized().get(name).shape();
    }
    Checkpoint c = plain(name);
    return c == null ? null : c.tensors().get(name).info().shape();
  }

  @Override
  public float[] read(String name) throws IOException {
    Checkpoint c = plain(name);
    if (c == null && packed != null && packed.quantized().containsKey(name)) {
      return packed.decode(name);
    }
    Checkpoint from = c == null ? original : c; // absent: let the checkpoint name the tensor
    float[] a = new float[Math.toIntExact(from.info(name).numel())];
    from.readFloats(name, 0, a.length, a, 0);
    return a;
  }

  @Override
  public void readRows(String name, long row, int rows, int cols, float[] dst, int off) throws IOException {
    Checkpoint c = plain(name);
    if (c == null && packed != null && packed.quantized().containsKey(name)) {
      System.arraycopy(packed.decode(name), Math.toIntExact(row * cols), dst, off, rows * cols);
      return;
    }
    (c == null ? original : c).readFloats(name, row * cols, rows * cols, dst, off);
  }

  @Override
  public void close() throws IOException {
    try {
      original.close();
    } finally {
      if (packed != null) {
        packed.close();
      }
    }
  }
}
