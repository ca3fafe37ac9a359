package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import java.util.List;
import java.util.function.BiConsumer;

/** Token generation with a KV cache. */
public final class LlamaGenerator implements AutoCloseable {
  private LlamaGenerator() {}

  public static LlamaGenerator open(LlamaWeights weights, long maxResidentBytes) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  public List<int[]> generate(List<int[]> prompts, int maxNewTokens, Sampler sampler,
      BiConsumer<Integer, Integer> onToken) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  @Override
  public void close() throws IOException {
  }
}
