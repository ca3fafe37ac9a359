package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.eval.MatMul;
import org.seedlm.pipeline.safetensors.CheckpointException;

/**
 * The ends of the model: token embedding (rows read on demand), final RMSNorm and the LM head
 * ({@code lm_head.weight}, or {@code embed_tokens} when tied).
 */
final class LlamaHead {
  static final String EMBED = "model.embed_tokens.weight";
  static final String NORM = "model.norm.weight";
  static final String LM_HEAD = "lm_head.weight";

  final float[] norm;
  final float[] head; // [vocab, hidden]

  private LlamaHead(float[] norm, float[] head) {
    this.norm = norm;
    this.head = head;
  }

  static LlamaHead load(LlamaWeights w) throws IOException {
    LlamaConfig c = w.config();
    float[] norm = LlamaLayer.need(w, NORM, c.hiddenSize());
    String name = headName(w);
    return new LlamaHead(norm, LlamaLayer.need(w, name, c.vocabSize(), c.hiddenSize()));
  }

  private static String headName(LlamaWeights w) throws IOException {
    if (w.config().tieWordEmbeddings()) {
      return EMBED;
    }
    if (w.shape(LM_HEAD) == null) {
      throw new CheckpointException("tensor '" + LM_HEAD + "' is missing and config.json does not set"
          + " tie_word_embeddings (the checkpoint is incomplete)");
    }
    return LM_HEAD;
  }

  /** Bytes of F32 weights of the final norm and head. */
  static long bytes(LlamaConfig c) {
    return 4L * c.hiddenSize() * (1L + c.vocabSize());
  }

  /** The embeddings of {@code ids} as {@code [ids.length, hidden]}, one ranged read per token. */
  static float[] embed(LlamaWeights w, int[] ids, int from, int count) throws IOException {
    LlamaConfig c = w.config();
    int h = c.hiddenSize();
    float[] x = new float[count * h];
    for (int i = 0; i < count; i++) {
      int id = ids[from + i];
      if (id < 0 || id >= c.vocabSize()) {
        throw new BadInputException("cannot evaluate token id " + id + " at position " + (from + i)
            + ": outside the vocabulary of " + c.vocabSize() + " (use the model's tokenizer)");
      }
      w.readRows(EMBED, id, 1, h, x, i * h);
    }
    return x;
  }

  /** Logits {@code [rows][vocab]} of the last {@code rows} rows of {@code x [t, hidden]}. */
  float[][] logits(LlamaConfig c, float[] x, int t, int rows) {
    int h = c.hiddenSize();
    int vocab = c.vocabSize();
    float[] last = new float[rows * h];
    System.arraycopy(x, (t - rows) * h, last, 0, rows * h);
    float[] xn = LlamaLayer.rmsNorm(last, rows, h, norm, (float) c.rmsNormEps());
    float[] flat = MatMul.linear(xn, rows, h, head, vocab, null);
    float[][] out = new float[rows][];
    for (int r = 0; r < rows; r++) {
      out[r] = java.util.Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
    }
    return out;
  }
}
