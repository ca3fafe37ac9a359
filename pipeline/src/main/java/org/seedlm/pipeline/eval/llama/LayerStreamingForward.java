package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

/** Layer-streaming batch forward: memory bounded by one layer of each model + the activations. */
public final class LayerStreamingForward {
  private LayerStreamingForward() {}

  public interface LogitsSink {
    void accept(int item, float[][] original, float[][] compressed) throws IOException;
  }

  public static void run(LlamaWeights original, LlamaWeights compressed, List<int[]> sequences,
      LogitsSink sink, Consumer<String> progress) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }
}
