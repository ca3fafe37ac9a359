package org.seedlm.pipeline.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BertModelTest {

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
  void followsConfigHiddenActAndCapitalOfFranceIsParis() throws Exception {
    WordPieceTokenizer tok = TestModels.tokenizer();
    assertEquals(BertModel.Gelu.ERF, TestModels.model().gelu(), "config.json says hidden_act gelu: the erf form");
    long t0 = System.nanoTime();
    float[] l = fill("The capital of France is [MASK].");
    System.out.printf("forward: %.3f s%n", (System.nanoTime() - t0) / 1e9);
    int[] top = topK(l, 5);
    StringBuilder sb = new StringBuilder();
    for (int i : top) {
      sb.append(tok.token(i)).append(String.format("=%.5f ", l[i]));
    }
    System.out.println("top5: " + sb);
    assertEquals(List.of("paris", "lille", "lyon"), Arrays.stream(top).limit(3).mapToObj(tok::token).toList(),
        sb.toString());
  }

  @Test
  void hiddenActNamesTheGelu() {
    assertEquals(BertModel.Gelu.ERF, BertModel.Gelu.forHiddenAct("gelu"));
    assertEquals(BertModel.Gelu.TANH, BertModel.Gelu.forHiddenAct("gelu_new"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> BertModel.Gelu.forHiddenAct("relu"));
    assertTrue(e.getMessage().contains("hidden_act \"relu\" is not supported"), e.getMessage());
  }

  /** Google's original BERT code uses the tanh GELU: the same top-3, slightly different logits. */
  @Test
  void tanhGeluGivesTheSameTopThree() throws Exception {
    WordPieceTokenizer tok = TestModels.tokenizer();
    BertModel m = TestModels.model();
    BertModel.Gelu dflt = m.gelu();
    float[] l;
    try {
      m.gelu(BertModel.Gelu.TANH);
      l = fill("The capital of France is [MASK].");
    } finally {
      m.gelu(dflt);
    }
    float[] erf = fill("The capital of France is [MASK].");
    int[] top = topK(l, 3);
    assertEquals(List.of("paris", "lille", "lyon"), Arrays.stream(top).mapToObj(tok::token).toList());
    // The two GELU forms differ by less than 0.0005 per activation, so the logits stay close to those of the erf
    // form, which helloModelMatchesTheModelCardProbabilities checks against the model card.
    for (int i : top) {
      assertEquals(erf[i], l[i], 0.05f, tok.token(i));
      assertTrue(erf[i] != l[i], "the tanh form is a different function: " + tok.token(i));
    }
  }

  @Test
  void milk() throws Exception {
    WordPieceTokenizer tok = TestModels.tokenizer();
    float[] l = fill("After work, she went to the [MASK] to buy some milk.");
    assertEquals("store", tok.token(Evaluator.argmax(l)));
  }
  /**
   * Known outputs of the original model: the Hugging Face model card of bert-base-uncased shows
   * {@code unmasker("Hello I'm a [MASK] model.")} giving fashion 0.1073, role 0.0877, new 0.0534, super
   * 0.0467, fine 0.0271 (PyTorch, float32, erf GELU). The same weights through this forward pass with the
   * erf GELU (the default, from config.json's {@code hidden_act: gelu}) must give the same five tokens in
   * that order and the same probabilities (measured: equal to the 5 decimals printed); the tanh GELU
   * (Google's original code) stays within a thousandth.
   */
  @Test
  void helloModelMatchesTheModelCardProbabilities() throws Exception {
    WordPieceTokenizer tok = TestModels.tokenizer();
    BertModel m = TestModels.model();
    List<String> words = List.of("fashion", "role", "new", "super", "fine");
    double[] card = {0.1073106899857521, 0.08774490654468536, 0.05338378623127937, 0.04667217284440994,
        0.027095865458250046};
    BertModel.Gelu dflt = m.gelu();
    for (BertModel.Gelu g : BertModel.Gelu.values()) {
      float[] l;
      try {
        m.gelu(g);
        l = fill("Hello I'm a [MASK] model.");
      } finally {
        m.gelu(dflt);
      }
      double[] prob = java.util.Arrays.stream(Evaluator.logSoftmax(l)).map(Math::exp).toArray();
      int[] top = topK(l, 5);
      StringBuilder sb = new StringBuilder();
      for (int i : top) {
        sb.append(String.format("%s=%.5f ", tok.token(i), prob[i]));
      }
      System.out.println(g + " GELU top5: " + sb);
      assertEquals(words, Arrays.stream(top).mapToObj(tok::token).toList(), g + " GELU: " + sb);
      double tol = g == BertModel.Gelu.ERF ? 3e-5 : 1e-3;
      for (int i = 0; i < 5; i++) {
        assertEquals(card[i], prob[top[i]], tol, g + " GELU probability of " + words.get(i) + ": " + sb);
      }
    }
  }
}
