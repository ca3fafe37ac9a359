package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/** Where the weights come from. Tensors decoded to F32, row-major [out][in] as in the checkpoint. */
public interface LlamaWeights extends AutoCloseable {
  LlamaConfig config();

  static LlamaWeights checkpoint(Configuration conf, Path modelDir) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  static LlamaWeights packed(Configuration conf, Path modelDir, Path packedDir) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  @Override
  void close() throws IOException;
}
