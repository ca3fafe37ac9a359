package org.seedlm.pipeline.eval.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.eval.EvalGate;
import org.seedlm.pipeline.eval.TestCorpus;

/** The causal tasks on stories260K: items as specified, a model against itself, the gate on a causal report. */
class CausalEvaluatorTest {

  @Test
  void tasksAreDeterministicAndClozeContinuationsSpellTheCandidates() throws IOException {
    HfTokenizerTest.golden(); // skips when ../shared is absent
    try (HfTokenizer tok = HfTokenizerTest.stories()) {
      CausalTasks a = CausalTasks.build(TestCorpus.get(), tok, 10, 10, 128, 7);
      CausalTasks b = CausalTasks.build(TestCorpus.get(), tok, 10, 10, 128, 7);
      assertEquals(10, a.passages().size());
      assertEquals(10, a.cloze().size());
      for (int i = 0; i < 10; i++) {
        assertArrayEquals(a.passages().get(i).ids(), b.passages().get(i).ids());
        assertEquals(a.cloze().get(i).candidates(), b.cloze().get(i).candidates());
      }
      for (CausalTasks.ClozeItem c : a.cloze()) {
        assertEquals(4, c.candidates().stream().distinct().count());
        for (int k = 0; k < 4; k++) {
          int[] s = c.sequences()[k];
          assertEquals(1, s[0], "BOS first");
          assertEquals(c.context() + " " + c.candidates().get(k), tok.decode(s));
          assertEquals(c.context(), tok.decode(java.util.Arrays.copyOf(s, c.start()[k])));
          assertEquals((" " + c.candidates().get(k)).length(), c.continuationBytes()[k]);
        }
      }
    }
  }

  @Test
  void aModelAgainstItselfLosesNothingAndTheGateNamesWhatFailed() throws IOException {
    HfTokenizerTest.golden();
    Configuration conf = new Configuration();
    Path dir = new Path(HfTokenizerTest.STORIES.toString());
    try (HfTokenizer tok = HfTokenizerTest.stories();
        LlamaWeights o = LlamaWeights.checkpoint(conf, dir);
        LlamaWeights c = LlamaWeights.checkpoint(conf, dir)) {
      CausalTasks tasks = CausalTasks.build(TestCorpus.get(), tok, 8, 8, 64, 3);
      List<int[]> gen = CausalEvaluator.selfGenerated(o, 2, 24, 5);
      assertEquals(2, gen.size());
      assertEquals(gen.get(0).length, CausalEvaluator.selfGenerated(o, 2, 24, 5).get(0).length, "same seed");
      CausalReport r = CausalEvaluator.evaluate(o, c, tasks, gen, null);
      assertEquals(r.perplexityOriginal(), r.perplexityCompressed(), 1e-9);
      assertEquals(r.accOriginal(), r.accCompressed());
      assertEquals(r.accNormOriginal(), r.accNormCompressed());
      assertEquals(r.generatedNllOriginal(), r.generatedNllCompressed(), 1e-9);
      assertEquals(0.0, r.meanKl(), 1e-9);
      assertEquals(1.0, r.top1Agreement());
      int positions = tasks.passages().stream().mapToInt(p -> p.ids().length).sum()
          + gen.stream().mapToInt(g -> g.length).sum();
      assertEquals(positions, r.comparedPositions());
      assertEquals(positions - 8 - 2, r.passageTokens() + r.generatedTokens());
      // a trained model predicts its own samples far better than uniform (ln 512 = 6.24 nats)
      assertTrue(r.generatedNllOriginal() < 3.0, "self-generated NLL " + r.generatedNllOriginal());
      assertTrue(r.perplexityOriginal() > 1 && r.perplexityOriginal() < 512 * 10, r.format());
      assertTrue(r.format().contains("cloze acc_norm (%)"), r.format());
      assertEquals(List.of(), EvalGate.violations(r, 0.0, 0.0));
      CausalReport worse = new CausalReport(1, 1, 1, 2, 10, 0.5, 0.2, 0.5, 0.5, 0, 0, 1, 1, 1, 0.25, 1, 1, 0);
      List<String> v = EvalGate.violations(worse, 10, 0.1);
      assertEquals(2, v.size(), v.toString());
      assertTrue(v.get(0).contains("cloze accuracy dropped 30.00 points"), v.get(0));
      assertTrue(v.get(1).contains("mean KL 0.25000"), v.get(1));
    }
  }
}
