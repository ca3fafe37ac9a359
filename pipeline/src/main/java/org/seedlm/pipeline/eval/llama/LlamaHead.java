package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
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

  /** Rows closer than this are fetched by one ranged read (fewer requests on object stores). */
  private static final int MERGE_GAP_ROWS = 16;
  /** Most rows fetched by one ranged read. */
  private static final int MAX_RUN_ROWS = 1024;

  /**
   * The embeddings of every sequence, {@code [length, hidden]} each. The distinct ids are read in
   * ascending order, ids at most {@value #MERGE_GAP_ROWS} rows apart by one ranged read.
   */
  static List<float[]> embed(LlamaWeights w, List<int[]> seqs) throws IOException {
    LlamaConfig c = w.config();
    int h = c.hiddenSize();
    TreeSet<Integer> ids = new TreeSet<>();
    for (int[] s : seqs) {
      for (int i = 0; i < s.length; i++) {
        if (s[i] < 0 || s[i] >= c.vocabSize()) {
          throw new BadInputException("cannot evaluate token id " + s[i] + " at position " + i
              + ": outside the vocabulary of " + c.vocabSize() + " (use the model's tokenizer)");
        }
        ids.add(s[i]);
      }
    }
    Map<Integer, float[]> rows = new HashMap<>();
    Integer first = ids.isEmpty() ? null : ids.first();
    while (first != null) {
      int last = first;
      for (Integer next = ids.higher(last); next != null && next - last <= MERGE_GAP_ROWS
          && next - first < MAX_RUN_ROWS; next = ids.higher(last)) {
        last = next;
      }
      int n = last - first + 1;
      float[] buf = new float[n * h];
      w.readRows(EMBED, first, n, h, buf, 0);
      for (int id : ids.subSet(first, true, last, true)) {
        rows.put(id, Arrays.copyOfRange(buf, (id - first) * h, (id - first + 1) * h));
      }
      first = ids.higher(last);
    }
    List<float[]> out = new ArrayList<>(seqs.size());
    for (int[] s : seqs) {
      float[] x = new float[s.length * h];
      for (int i = 0; i < s.length; i++) {
        System.arraycopy(rows.get(s[i]), 0, x, i * h, h);
      }
      out.add(x);
    }
    return out;
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
      out[r] = Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
    }
    return out;
  }
}
