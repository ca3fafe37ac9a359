package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.seedlm.pipeline.BadInputException;

/**
 * Token generation with a KV cache: the prompts are prefilled together, then every step feeds each
 * unfinished sequence its last token, one pass over the layers for all of them. The layers stay in
 * memory when they fit in the budget given to {@link #open}, else each step reads them again (memory
 * then stays at one layer + the caches, as in {@link LayerStreamingForward}).
 */
public final class LlamaGenerator implements AutoCloseable {
  private final LlamaWeights weights;
  private final LlamaConfig config;
  private final float[] invFreq;
  private final LlamaLayer[] resident; // null when streaming
  private final LlamaHead residentHead;

  private LlamaGenerator(LlamaWeights weights, LlamaLayer[] resident, LlamaHead head) {
    this.weights = weights;
    this.config = weights.config();
    this.invFreq = config.inverseFrequencies();
    this.resident = resident;
    this.residentHead = head;
  }

  /** Holds the model's layers in memory when they fit in maxResidentBytes, else streams them per step. */
  public static LlamaGenerator open(LlamaWeights weights, long maxResidentBytes) throws IOException {
    LlamaConfig c = weights.config();
    long total = LlamaHead.bytes(c);
    for (int i = 0; i < c.numLayers(); i++) {
      total += LlamaLayer.residentBytes(weights, i);
    }
    if (total > maxResidentBytes) {
      return new LlamaGenerator(weights, null, null);
    }
    LlamaLayer[] layers = new LlamaLayer[c.numLayers()];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = LlamaLayer.load(weights, i);
    }
    return new LlamaGenerator(weights, layers, LlamaHead.load(weights));
  }

  /** Bytes of weights held in memory (0 when the layers are read again at each step). */
  public long residentBytes() {
    if (resident == null) {
      return 0;
    }
    long total = LlamaHead.bytes(config);
    for (LlamaLayer l : resident) {
      total += l.residentBytes();
    }
    return total;
  }

  /** Whether the layers are held in memory (else they are read again at each step). */
  public boolean resident() {
    return resident != null;
  }

  /** Generates up to maxNewTokens after each prompt (all prompts advance together, one pass over the
   *  layers per step), stopping a sequence at EOS (eosTokenId >= 0) or at maxPositions;
   *  onToken(item, tokenId) is called as each token is produced (may be null). Returns the new tokens per prompt. */
  public List<int[]> generate(List<int[]> prompts, int maxNewTokens, Sampler sampler,
      BiConsumer<Integer, Integer> onToken) throws IOException {
    LlamaConfig c = config;
    int n = prompts.size();
    int kvDim = c.numKvHeads() * c.headDim();
    LlamaLayer.KvCache[][] caches = new LlamaLayer.KvCache[n][c.numLayers()];
    int[][] out = new int[n][];
    int[] produced = new int[n];
    int[][] input = new int[n][];
    for (int s = 0; s < n; s++) {
      int[] p = prompts.get(s);
      if (p.length == 0 || p.length > c.maxPositions()) {
        throw new BadInputException("cannot generate after a prompt of " + p.length + " tokens: the model takes 1 to "
            + c.maxPositions() + " (max_position_embeddings)");
      }
      int capacity = (int) Math.min(c.maxPositions(), (long) p.length + maxNewTokens);
      for (int l = 0; l < c.numLayers(); l++) {
        caches[s][l] = new LlamaLayer.KvCache(capacity, kvDim);
      }
      out[s] = new int[Math.max(0, capacity - p.length)];
      input[s] = maxNewTokens > 0 && p.length < c.maxPositions() ? p : null;
    }
    while (true) {
      List<Integer> active = new ArrayList<>();
      for (int s = 0; s < n; s++) {
        if (input[s] != null) {
          active.add(s);
        }
      }
      if (active.isEmpty()) {
        break;
      }
      List<int[]> inputs = new ArrayList<>();
      for (int s : active) {
        inputs.add(input[s]);
      }
      List<float[]> embedded = LlamaHead.embed(weights, inputs);
      float[][] x = new float[n][];
      for (int i = 0; i < active.size(); i++) {
        x[active.get(i)] = embedded.get(i);
      }
      for (int l = 0; l < c.numLayers(); l++) {
        LlamaLayer layer = resident != null ? resident[l] : LlamaLayer.load(weights, l);
        for (int s : active) {
          LlamaLayer.KvCache kv = caches[s][l];
          layer.forward(c, invFreq, x[s], input[s].length, kv.length, kv);
        }
      }
      LlamaHead head = residentHead != null ? residentHead : LlamaHead.load(weights);
      for (int s : active) {
        int t = input[s].length;
        int token = sampler.next(head.logits(c, x[s], t, 1)[0]);
        out[s][produced[s]++] = token;
        if (onToken != null) {
          onToken.accept(s, token);
        }
        boolean done = produced[s] == out[s].length || (c.eosTokenId() >= 0 && token == c.eosTokenId());
        input[s] = done ? null : new int[] {token};
      }
    }
    List<int[]> result = new ArrayList<>(n);
    for (int s = 0; s < n; s++) {
      result.add(java.util.Arrays.copyOf(out[s], produced[s]));
    }
    return result;
  }

  /** Closes nothing: the weights belong to the caller. */
  @Override
  public void close() {
  }
}
