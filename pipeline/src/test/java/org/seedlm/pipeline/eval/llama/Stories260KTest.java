package org.seedlm.pipeline.eval.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.eval.Evaluator;

/**
 * The real trained stories260K Llama against the golden values of {@code GOLDEN.md} beside it
 * (computed by a numpy forward and by llama2.c, which agree): argmax at every position, top-5
 * last-position logits to 1e-3, greedy continuations exactly; the layer-streaming forward and the
 * generator agree with each other.
 */
class Stories260KTest {
  /** One prompt of GOLDEN.md. */
  record Golden(int[] ids, int[] argmax, int[] top5Ids, float[] top5Logits, int[] greedy) {}

  static java.nio.file.Path dir;
  static List<Golden> golden;

  /** {@code shared/models/NAME} in the repository root's parent or above, or null. */
  static java.nio.file.Path sharedModel(String name) {
    for (java.nio.file.Path p = java.nio.file.Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      java.nio.file.Path d = p.resolve("shared").resolve("models").resolve(name);
      if (Files.isDirectory(d)) {
        return d;
      }
    }
    return null;
  }

  @BeforeAll
  static void load() throws IOException {
    dir = sharedModel("stories260K");
    Assumptions.assumeTrue(dir != null && Files.exists(dir.resolve("GOLDEN.md")),
        "../shared/models/stories260K is absent: skipping the stories260K golden tests");
    golden = parse(Files.readString(dir.resolve("GOLDEN.md")));
    assertEquals(2, golden.size());
  }

  static List<Golden> parse(String md) {
    List<Golden> out = new ArrayList<>();
    String[] prompts = md.split("\n### Prompt ");
    for (int i = 1; i < prompts.length; i++) {
      String p = prompts[i];
      int[] ids = block(p, "Token ids");
      int[] argmax = block(p, "Argmax");
      int[] greedy = block(p, "Greedy continuation");
      Matcher m = Pattern.compile("\\n\\| (\\d) \\| (\\d+) \\| `[^`]*` \\| (-?[0-9.]+) \\|").matcher(p);
      int[] topIds = new int[5];
      float[] topLogits = new float[5];
      int n = 0;
      while (m.find()) {
        topIds[n] = Integer.parseInt(m.group(2));
        topLogits[n] = Float.parseFloat(m.group(3));
        n++;
      }
      assertEquals(5, n, "top-5 rows of prompt " + i);
      out.add(new Golden(ids, argmax, topIds, topLogits, greedy));
    }
    return out;
  }

  private static int[] block(String text, String heading) {
    int at = text.indexOf(heading);
    int open = text.indexOf("```", at);
    int close = text.indexOf("```", open + 3);
    String body = text.substring(open + 3, close).replaceAll("[\\[\\]\\s]", "");
    return java.util.Arrays.stream(body.split(",")).mapToInt(Integer::parseInt).toArray();
  }

  private static LlamaWeights weights() throws IOException {
    return LlamaWeights.checkpoint(new Configuration(), new Path(dir.toUri()));
  }

  @Test
  void configMatchesGolden() throws IOException {
    try (LlamaWeights w = weights()) {
      LlamaConfig c = w.config();
      assertEquals("llama", c.modelType());
      assertEquals(64, c.hiddenSize());
      assertEquals(5, c.numLayers());
      assertEquals(512, c.vocabSize());
      assertEquals(4, c.numKvHeads());
      assertEquals(1, c.bosTokenId());
      assertEquals(2, c.eosTokenId());
      assertTrue(LlamaConfig.isCausalLm(new Configuration(), new Path(dir.toUri())));
    }
  }

  @Test
  void streamingForwardMatchesArgmaxAndTop5() throws IOException {
    List<int[]> seqs = new ArrayList<>();
    for (Golden g : golden) {
      seqs.add(g.ids());
    }
    List<float[][]> got = new ArrayList<>();
    try (LlamaWeights w = weights()) {
      LayerStreamingForward.run(w, w, seqs, (item, o, c) -> {
        assertEquals(got.size(), item);
        for (int t = 0; t < o.length; t++) {
          assertArrayEquals(o[t], c[t], "the same model on both sides gives the same logits");
        }
        got.add(o);
      }, null);
    }
    for (int s = 0; s < golden.size(); s++) {
      Golden g = golden.get(s);
      float[][] logits = got.get(s);
      assertEquals(g.ids().length, logits.length);
      for (int t = 0; t < logits.length; t++) {
        assertEquals(g.argmax()[t], Evaluator.argmax(logits[t]), "prompt " + (s + 1) + " position " + t);
      }
      float[] last = logits[logits.length - 1];
      for (int r = 0; r < 5; r++) {
        assertEquals(g.top5Logits()[r], last[g.top5Ids()[r]], 1e-3, "prompt " + (s + 1) + " rank " + (r + 1));
      }
    }
  }

  @Test
  void greedyContinuationMatches() throws IOException {
    List<int[]> prompts = new ArrayList<>();
    for (Golden g : golden) {
      prompts.add(g.ids());
    }
    for (long budget : new long[] {Long.MAX_VALUE, 0}) { // resident, then re-read per step
      try (LlamaWeights w = weights(); LlamaGenerator gen = LlamaGenerator.open(w, budget)) {
        assertEquals(budget > 0, gen.resident());
        List<int[]> streamed = new ArrayList<>();
        for (int s = 0; s < prompts.size(); s++) {
          streamed.add(new int[0]);
        }
        List<int[]> out = gen.generate(prompts, 20, new Sampler(0, 1, 0), (item, tok) -> {
          int[] a = streamed.get(item);
          int[] b = java.util.Arrays.copyOf(a, a.length + 1);
          b[a.length] = tok;
          streamed.set(item, b);
        });
        for (int s = 0; s < golden.size(); s++) {
          assertArrayEquals(golden.get(s).greedy(), out.get(s), "prompt " + (s + 1));
          assertArrayEquals(out.get(s), streamed.get(s), "onToken order");
        }
      }
    }
  }
}
