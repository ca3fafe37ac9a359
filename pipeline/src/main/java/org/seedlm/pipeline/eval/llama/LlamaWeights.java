package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
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

  /** The original checkpoint (single file or sharded, F32/F16/BF16), by ranged reads on any Hadoop path. */
  static LlamaWeights checkpoint(Configuration conf, Path modelDir) throws IOException {
    LlamaConfig cfg = LlamaConfig.read(conf, modelDir);
    return new CheckpointWeights(cfg, Checkpoint.open(modelDir, conf), null);
  }

  /** A packed model: its quantized tensors decoded with the project's decoder, the rest from the checkpoint. */
  static LlamaWeights packed(Configuration conf, Path modelDir, Path packedDir) throws IOException {
    LlamaConfig cfg = LlamaConfig.read(conf, modelDir);
    PackedModel pm = PackedModel.open(packedDir, conf);
    try {
      return new CheckpointWeights(cfg, Checkpoint.open(modelDir, conf), pm);
    } catch (IOException | RuntimeException e) {
      pm.close();
      throw e;
    }
  }

  @Override
  void close() throws IOException;
}
