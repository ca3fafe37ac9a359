package org.seedlm.pipeline.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.eval.EvalTasks.ClozeItem;
import org.seedlm.pipeline.eval.EvalTasks.MlmItem;

class EvalTest {

  @Test
  void tasksAreDeterministicAndWellFormed() throws Exception {
    BrownCorpus c = TestCorpus.get();
    assertEquals(57340, c.sentences().size());
    WordPieceTokenizer tok = TestModels.tokenizer();
    EvalTasks a = EvalTasks.build(c, tok, 40, 20, EvalTasks.DEFAULT_SEED);
    EvalTasks b = EvalTasks.build(c, tok, 40, 20, EvalTasks.DEFAULT_SEED);
    EvalTasks other = EvalTasks.build(c, tok, 40, 20, 1L);
    assertEquals(40, a.cloze().size());
    assertEquals(20, a.mlm().size());
    assertEquals(a.cloze().stream().map(ClozeItem::describe).toList(),
        b.cloze().stream().map(ClozeItem::describe).toList());
    assertEquals(a.mlm().stream().map(MlmItem::describe).toList(), b.mlm().stream().map(MlmItem::describe).toList());
    assertNotEquals(a.cloze().get(0).describe(), other.cloze().get(0).describe());
    for (ClozeItem it : a.cloze()) {
      assertEquals(tok.maskId(), it.ids()[it.position()]);
      assertEquals(4, it.candidates().length);
      assertEquals(4, java.util.Arrays.stream(it.candidates()).distinct().count());
      assertTrue(it.answer() >= 0 && it.answer() < 4);
      assertTrue(EvalTasks.CONTENT_TAGS.contains(it.tag()));
      assertTrue(it.ids().length <= EvalTasks.MAX_TOKENS);
    }
    for (MlmItem it : a.mlm()) {
      for (int p : it.positions()) {
        assertEquals(tok.maskId(), it.input()[p]);
      }
      assertTrue(it.positions().length >= 1);
    }
    // A smaller build is a prefix of a larger one for cloze items made from the same shuffled order.
    EvalTasks small = EvalTasks.build(c, tok, 5, 3, EvalTasks.DEFAULT_SEED);
    assertEquals(a.cloze().subList(0, 5).stream().map(ClozeItem::describe).toList(),
        small.cloze().stream().map(ClozeItem::describe).toList());
  }

  /** A Reference runs the original's forward passes once; later evaluations run only the compressed model's. */
  @Test
  void referenceComputesTheOriginalOnce() throws Exception {
    BertModel m = TestModels.model();
    EvalTasks t = EvalTasks.build(TestCorpus.get(), TestModels.tokenizer(), 3, 2, EvalTasks.DEFAULT_SEED);
    BertModel.Gelu dflt = m.gelu();
    Evaluator.Reference ref = new Evaluator.Reference(m, t); // original: the model's own GELU
    try {
      ref.cloze(0);
      m.gelu(dflt == BertModel.Gelu.ERF ? BertModel.Gelu.TANH : BertModel.Gelu.ERF); // "compressed": the other GELU
      EvalReport first = Evaluator.evaluate(ref, m, null);
      EvalReport second = Evaluator.evaluate(ref, m, null);
      int items = t.cloze().size() + t.mlm().size();
      assertEquals(2 * items - 1, first.forwardPasses(), "first: original (one cached already) and compressed");
      assertEquals(items, second.forwardPasses(), "second: compressed only");
      assertTrue(first.meanKl() > 0, "the two GELUs differ: KL " + first.meanKl());
      assertEquals(first.meanKl(), second.meanKl(), 0.0);
      assertEquals(first.pseudoPerplexityOriginal(), second.pseudoPerplexityOriginal(), 0.0);
      assertEquals(first.pseudoPerplexityCompressed(), second.pseudoPerplexityCompressed(), 0.0);
    } finally {
      m.gelu(dflt);
    }
  }

  @Test
  void originalAgainstItselfHasNoDropNoKlFullAgreement() throws Exception {
    BertModel m = TestModels.model();
    EvalTasks t = EvalTasks.build(TestCorpus.get(), TestModels.tokenizer(), 4, 2, EvalTasks.DEFAULT_SEED);
    EvalReport r = Evaluator.evaluate(m, m, t, null);
    System.out.print(r.format());
    assertTrue(r.hasCompressed());
    assertEquals(0.0, r.accuracyDropPoints(), 0.0);
    assertEquals(0.0, r.perplexityIncrease(), 0.0);
    assertEquals(0.0, r.meanKl(), 1e-12);
    assertEquals(1.0, r.top1Agreement(), 0.0);
    assertTrue(r.clozeAccuracyOriginal() >= 0.5, "cloze accuracy " + r.clozeAccuracyOriginal());
    assertTrue(r.pseudoPerplexityOriginal() > 1 && r.pseudoPerplexityOriginal() < 200);
    assertEquals(0, EvalGate.exitCode(r, 0.0, 0.0));
    assertEquals(12, r.forwardPasses());
  }

  private static EvalReport report(double accO, double accC, double kl) {
    return new EvalReport(100, 10, 30, accO, accC, 10, 11, 0.5, 0.5, kl, 0.9, 220, 1);
  }

  @Test
  void gateExitCodes() {
    assertEquals(2.0, EvalGate.defaultMaxDropPoints(4.0));
    assertEquals(2.0, EvalGate.defaultMaxDropPoints(8.0));
    assertEquals(6.0, EvalGate.defaultMaxDropPoints(3.0));
    assertEquals(10.0, EvalGate.defaultMaxDropPoints(2.0));
    assertEquals(0, EvalGate.exitCode(report(0.90, 0.89, 0.1), 2.0, Double.NaN));
    assertEquals(0, EvalGate.exitCode(report(0.90, 0.88, 0.1), 2.0, Double.NaN)); // exactly at the limit
    assertEquals(4, EvalGate.exitCode(report(0.90, 0.87, 0.1), 2.0, Double.NaN));
    assertEquals(0, EvalGate.exitCode(report(0.90, 0.87, 0.1), 6.0, Double.NaN));
    assertEquals(0, EvalGate.exitCode(report(0.90, 0.95, 0.1), 0.0, Double.NaN)); // improvement
    assertEquals(4, EvalGate.exitCode(report(0.90, 0.90, 0.3), 2.0, 0.2));
    assertEquals(0, EvalGate.exitCode(report(0.90, 0.90, 0.1), 2.0, 0.2));
    assertEquals(4, EvalGate.exitCode(report(0.90, 0.90, Double.NaN), 2.0, 0.2)); // unmeasured KL fails a KL limit
    assertEquals(List.of(), EvalGate.violations(report(0.9, Double.NaN, Double.NaN), 0.0, 0.0)); // original only
  }

  @Test
  void klAndChoiceHelpers() {
    double[] p = Evaluator.logSoftmax(new float[] {1f, 2f, 3f});
    assertEquals(0.0, Evaluator.kl(p, p), 1e-15);
    assertTrue(Evaluator.kl(p, Evaluator.logSoftmax(new float[] {3f, 2f, 1f})) > 0.5);
    assertEquals(2, Evaluator.choice(new float[] {0f, 5f, 1f, 9f}, new int[] {0, 2, 3, 1}));
    assertEquals(0.5204998778, BertModel.erf(0.5), 2e-7);
    assertEquals(-0.8427007929, BertModel.erf(-1.0), 2e-7);
  }
}
