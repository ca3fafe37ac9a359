package org.seedlm.pipeline.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BertModelTest {

  static int argmax(float[] a) {
    int b = 0;
    for (int i = 1; i < a.length; i++) {
      if (a[i] > a[b]) {
        b = i;
      }
    }
    return b;
  }

  static int[] topK(float[] a, int k) {
    Integer[] idx = new Integer[a.length];
    for (int i = 0; i < a.length; i++) {
      idx[i] = i;
    }
    Arrays.sort(idx, (x, y) -> Float.compare(a[y], a[x]));
    int[] r = new int[k];
    for (int i = 0; i < k; i++) {
      r[i] = idx[i];
    }
    return r;
  }

  private static float[] fill(String text) throws Exception {
    WordPieceTokenizer tok = TestModels.tokenizer();
    int[] ids = tok.encode(text);
    int pos = -1;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == tok.maskId()) {
        pos = i;
      }
    }
    return TestModels.model().maskedLogits(ids, new int[] {pos})[0];
  }

  @Test
  void capitalOfFrance() throws Exception {
    WordPieceTokenizer tok = TestModels.tokenizer();
    long t0 = System.nanoTime();
    float[] l = fill("The capital of France is [MASK].");
    System.out.printf("forward: %.3f s%n", (System.nanoTime() - t0) / 1e9);
    int[] top = topK(l, 5);
    StringBuilder sb = new StringBuilder();
    for (int i : top) {
      sb.append(tok.token(i)).append(String.format("=%.5f ", l[i]));
    }
    System.out.println("top5: " + sb);
    assertEquals("paris", tok.token(top[0]));
    assertEquals("lille", tok.token(top[1]));
    assertEquals("lyon", tok.token(top[2]));
    // Numeric golden, computed once with this implementation (tanh GELU) and hard-coded.
    assertEquals(12.33397f, l[top[0]], 2e-3f);
    assertEquals(10.57762f, l[top[1]], 2e-3f);
    assertEquals(10.45093f, l[top[2]], 2e-3f);
  }

  /** Google's BERT uses the tanh GELU (the default); the erf form gives the same top-3, slightly different logits. */
  @Test
  void erfGeluGivesTheSameTopThree() throws Exception {
    WordPieceTokenizer tok = TestModels.tokenizer();
    BertModel m = TestModels.model();
    float[] l;
    try {
      m.gelu(BertModel.Gelu.ERF);
      l = fill("The capital of France is [MASK].");
    } finally {
      m.gelu(BertModel.Gelu.TANH);
    }
    int[] top = topK(l, 3);
    System.out.printf("erf GELU: paris=%.5f%n", l[top[0]]);
    assertEquals(List.of("paris", "lille", "lyon"), Arrays.stream(top).mapToObj(tok::token).toList());
    assertNotEquals(12.33397f, l[top[0]], 1e-5f);
  }

  @Test
  void milk() throws Exception {
    WordPieceTokenizer tok = TestModels.tokenizer();
    float[] l = fill("After work, she went to the [MASK] to buy some milk.");
    assertEquals("store", tok.token(argmax(l)));
  }
}
