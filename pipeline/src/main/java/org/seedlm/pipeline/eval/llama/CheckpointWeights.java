package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.decode.SeedLmLinear;
import org.seedlm.pipeline.eval.Linear;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * {@link LlamaWeights} over a safetensors checkpoint and, for a compressed model, a packed model:
 * a quantized tensor is decoded by {@link PackedModel#decode}, a kept one is read from the packed
 * model, anything else from the original checkpoint. Not thread-safe (one decoded tensor is cached).
 */
final class CheckpointWeights implements LlamaWeights {
  private final LlamaConfig config;
  private final Checkpoint original;
  private final PackedModel packed; // null for the original model
  private final boolean fused; // SeedLM projections stay packed (SeedLmLinear)
  private String decodedName; // the quantized tensor last decoded by readRows, and its values
  private float[] decoded;

  CheckpointWeights(LlamaConfig config, Checkpoint original, PackedModel packed, boolean fused) {
    this.config = config;
    this.original = original;
    this.packed = packed;
    this.fused = fused;
  }

  /** The SeedLM params of {@code name} when it stays packed in memory, else null. */
  private SeedLmParams fusedParams(String name) throws IOException {
    if (!fused || packed == null || !packed.quantized().containsKey(name)
        || packed.quantized().get(name).isTensorCodec()) {
      return null;
    }
    return packed.codec(name) instanceof SeedLmCodec s ? s.seedLmParams() : null;
  }

  @Override
  public Linear linear(String name, int out, int in, float[] bias) throws IOException {
    SeedLmParams p = fusedParams(name);
    return p == null ? LlamaWeights.super.linear(name, out, in, bias)
        : new SeedLmLinear(p, packed.packedBytes(name), packed.offsets(name),
            packed.quantized().get(name).groupBlocks(), out, in, bias);
  }

  @Override
  public long residentBytes(String name) throws IOException {
    return fusedParams(name) == null ? LlamaWeights.super.residentBytes(name)
        : packed.quantized().get(name).packedBytes();
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
      if (!name.equals(decodedName)) { // a quantized embedding: decode it once, not once per read
        decoded = packed.decode(name);
        decodedName = name;
      }
      System.arraycopy(decoded, Math.toIntExact(row * cols), dst, off, rows * cols);
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
