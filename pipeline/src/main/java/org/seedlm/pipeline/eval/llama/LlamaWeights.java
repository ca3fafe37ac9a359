package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.eval.Linear;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * Where the weights come from. Tensors decoded to F32, row-major [out][in] as in the checkpoint,
 * read on demand (nothing is held), so a caller holds only what it asked for.
 */
public interface LlamaWeights extends AutoCloseable {
  LlamaConfig config();

  /** The tensor's shape, or null when the model has no such tensor. */
  long[] shape(String name) throws IOException;

  /** The whole tensor as F32, row-major. */
  float[] read(String name) throws IOException;

  /** Rows {@code [row, row + rows)} of a rank-2 tensor of {@code cols} columns into {@code dst[off..]}. */
  void readRows(String name, long row, int rows, int cols, float[] dst, int off) throws IOException;

  /** The rank-2 tensor {@code name} {@code [out, in]} as a linear layer: floats, unless these weights keep it packed. */
  default Linear linear(String name, int out, int in, float[] bias) throws IOException {
    return Linear.dense(read(name), out, in, bias);
  }

  /** Bytes {@link #linear} holds for {@code name}. */
  default long residentBytes(String name) throws IOException {
    long n = 4;
    for (long d : shape(name)) {
      n *= d;
    }
    return n;
  }

  /** The original checkpoint (single file or sharded, F32/F16/BF16), by ranged reads on any Hadoop path. */
  static LlamaWeights checkpoint(Configuration conf, Path modelDir) throws IOException {
    LlamaConfig cfg = LlamaConfig.read(conf, modelDir);
    return new CheckpointWeights(cfg, Checkpoint.open(modelDir, conf), null, false);
  }

  /** A packed model: its quantized tensors decoded with the project's decoder, the rest from the checkpoint. */
  static LlamaWeights packed(Configuration conf, Path modelDir, Path packedDir) throws IOException {
    return packed(conf, modelDir, packedDir, false);
  }

  /**
   * A packed model; with {@code fused}, its SeedLM projections stay packed in memory and are multiplied by the
   * fused decode x matmul kernel ({@link org.seedlm.pipeline.decode.SeedLmLinear}) instead of being decoded.
   */
  static LlamaWeights packed(Configuration conf, Path modelDir, Path packedDir, boolean fused) throws IOException {
    LlamaConfig cfg = LlamaConfig.read(conf, modelDir);
    PackedModel pm = PackedModel.open(packedDir, conf);
    try {
      return new CheckpointWeights(cfg, Checkpoint.open(modelDir, conf), pm, fused);
    } catch (IOException | RuntimeException e) {
      pm.close();
      throw e;
    }
  }

  @Override
  void close() throws IOException;
}
