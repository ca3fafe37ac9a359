package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Llama family end to end on the real trained stories260K (../shared/models; 1 MB): quantize, assemble,
 * verify, {@code eval --packed} with the gate, and {@code generate} printing GOLDEN.md's greedy continuation.
 */
class LlamaEndToEndTest {
  static final Path STORIES = Paths.get("").toAbsolutePath().getParent().resolve("../shared/models/stories260K")
      .normalize();

  @Test
  void quantizeAssembleVerifyEvalWithTheGateAndGenerate(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(Files.exists(STORIES.resolve("GOLDEN.md")),
        "../shared/models/stories260K is absent: skipping the Llama end-to-end test");
    String run = tmp.resolve("run").toString();
    String brown = ReportGateTest.brownCache().toString();
    String[] q = ReportGateTest.run("quantize", "--model", STORIES.toString(), "--run", run, "--codec",
        "seedlm-4bit", "--master", "local[2]");
    assertEquals("0", q[0], q[1] + q[2]);
    String[] a = ReportGateTest.run("assemble", "--run", run, "--master", "local[2]");
    assertEquals("0", a[0], a[1] + a[2]);
    String[] v = ReportGateTest.run("verify", "--run", run, "--master", "local[2]");
    assertEquals("0", v[0], v[1] + v[2]);

    String[] e = ReportGateTest.run("eval", "--model", STORIES.toString(), "--packed", run, "--items", "12",
        "--generated", "2", "--generated-tokens", "16", "--brown", brown, "--max-drop-accuracy", "100");
    assertEquals("0", e[0], e[1] + e[2]);
    for (String row : new String[] {"Brown perplexity", "cloze acc (%)", "cloze acc_norm (%)",
        "self-generated NLL/token", "mean KL(orig||comp) nats", "top-1 agreement (%)"}) {
      assertTrue(e[1].lines().anyMatch(l -> l.startsWith(row)), row + " in:\n" + e[1]);
    }
    assertTrue(e[1].contains("gate: max accuracy drop 100.00 points: PASS"), e[1]);
    String kl = e[1].lines().filter(l -> l.startsWith("mean KL")).findFirst().orElseThrow();
    double meanKl = Double.parseDouble(kl.trim().split("\\s+")[3]);
    assertTrue(meanKl > 0 && meanKl < 1, kl); // 4-bit weights: a small, non-zero divergence

    // the same evaluation with a KL limit below what it measured: exit 4, naming the KL
    String[] g = ReportGateTest.run("eval", "--model", STORIES.toString(), "--packed", run, "--items", "12",
        "--generated", "2", "--generated-tokens", "16", "--brown", brown, "--max-drop-accuracy", "100",
        "--max-kl", String.valueOf(meanKl / 2));
    assertEquals("4", g[0], g[1] + g[2]);
    assertTrue(g[2].contains("seedlm: eval gate: mean KL"), g[2]);

    // GOLDEN.md prompt 1, greedy, 20 tokens
    String[] gen = ReportGateTest.run("generate", "--model", STORIES.toString(), "--prompt",
        "Once upon a time, there was a little girl named Lily.", "--max-new-tokens", "20");
    assertEquals("0", gen[0], gen[1] + gen[2]);
    assertEquals("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
        + "One day, she", gen[1].strip());
  }
}
