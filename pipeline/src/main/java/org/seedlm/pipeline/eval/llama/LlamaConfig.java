package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/** Parsed config.json of a causal LM (Llama, Mistral, Qwen2). */
public final class LlamaConfig {
  public static LlamaConfig read(Configuration conf, Path modelDir) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  public static boolean isCausalLm(Configuration conf, Path modelDir) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  public String modelType() { throw new UnsupportedOperationException("not yet"); }
  public int vocabSize() { throw new UnsupportedOperationException("not yet"); }
  public int numLayers() { throw new UnsupportedOperationException("not yet"); }
  public int hiddenSize() { throw new UnsupportedOperationException("not yet"); }
  public int maxPositions() { throw new UnsupportedOperationException("not yet"); }
  public int bosTokenId() { throw new UnsupportedOperationException("not yet"); }
  public int eosTokenId() { throw new UnsupportedOperationException("not yet"); }
}
