package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.seedlm.pipeline.BadInputException;

/**
 * Layer-streaming batch forward: memory bounded by one layer of each model + the activations.
 *
 * <p>Every sequence's hidden states are held ({@code [length, hidden]} per sequence and model); layer
 * {@code i} of the original and of the compressed model is loaded, every sequence is pushed through
 * both, the layer is dropped and the next one is read. Each tensor is read once, whatever the number
 * of sequences. The final norm and head come last, then the sink gets each sequence's logits.
 */
public final class LayerStreamingForward {
  private LayerStreamingForward() {}

  public interface LogitsSink {
    /** Called once per sequence, in item order, after the last layer: logits[position][vocab] of the
     *  original and (null when no compressed model was given) the compressed model. */
    void accept(int item, float[][] original, float[][] compressed) throws IOException;
  }

  /** Runs every sequence (token ids, BOS included by the caller) through both models layer by layer,
   *  original and compressed advancing in the same pass (each original layer read once).
   *  `progress` gets one line per layer (may be null). */
  public static void run(LlamaWeights original, LlamaWeights compressed, List<int[]> sequences,
      LogitsSink sink, Consumer<String> progress) throws IOException {
    LlamaConfig c = original.config();
    if (compressed != null) {
      checkSameShape(c, compressed.config());
    }
    for (int[] s : sequences) {
      if (s.length == 0 || s.length > c.maxPositions()) {
        throw new BadInputException("cannot evaluate a sequence of " + s.length + " tokens: the model takes 1 to "
            + c.maxPositions() + " (max_position_embeddings)");
      }
    }
    float[] invFreq = c.inverseFrequencies();
    List<float[]> ho = embedAll(original, sequences);
    List<float[]> hc = compressed == null ? null : embedAll(compressed, sequences);
    int kvDim = c.numKvHeads() * c.headDim();
    for (int i = 0; i < c.numLayers(); i++) {
      long t0 = System.nanoTime();
      LlamaLayer lo = LlamaLayer.load(original, i);
      LlamaLayer lc = compressed == null ? null : LlamaLayer.load(compressed, i);
      for (int s = 0; s < sequences.size(); s++) {
        int t = sequences.get(s).length;
        lo.forward(c, invFreq, ho.get(s), t, 0, new LlamaLayer.KvCache(t, kvDim));
        if (lc != null) {
          lc.forward(c, invFreq, hc.get(s), t, 0, new LlamaLayer.KvCache(t, kvDim));
        }
      }
      if (progress != null) {
        progress.accept(String.format("layer %d/%d: %d sequences, %.1f s", i + 1, c.numLayers(),
            sequences.size(), (System.nanoTime() - t0) / 1e9));
      }
    }
    LlamaHead heado = LlamaHead.load(original);
    LlamaHead headc = compressed == null ? null : LlamaHead.load(compressed);
    for (int s = 0; s < sequences.size(); s++) {
      int t = sequences.get(s).length;
      float[][] lo = heado.logits(c, ho.get(s), t, t);
      ho.set(s, null);
      float[][] lc = null;
      if (headc != null) {
        lc = headc.logits(c, hc.get(s), t, t);
        hc.set(s, null);
      }
      sink.accept(s, lo, lc);
    }
  }

  private static List<float[]> embedAll(LlamaWeights w, List<int[]> sequences) throws IOException {
    List<float[]> h = new ArrayList<>(sequences.size());
    for (int[] s : sequences) {
      h.add(LlamaHead.embed(w, s, 0, s.length));
    }
    return h;
  }

  private static void checkSameShape(LlamaConfig a, LlamaConfig b) {
    if (a.hiddenSize() != b.hiddenSize() || a.numLayers() != b.numLayers() || a.vocabSize() != b.vocabSize()
        || a.numHeads() != b.numHeads() || a.numKvHeads() != b.numKvHeads() || a.headDim() != b.headDim()
        || a.intermediateSize() != b.intermediateSize()) {
      throw new BadInputException("cannot compare the two models: their config.json sizes differ (the compressed"
          + " model must be made from the original)");
    }
  }
}
