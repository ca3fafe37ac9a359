package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
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
    // the run sits where `report --work` looks for it, so that the report at the end resumes it
    String run = tmp.resolve("work/runs/stories260K-seedlm-4bit").toString();
    String brown = ReportGateTest.brownCache().toString();
    String[] q = CliRun.run("quantize", "--model", STORIES.toString(), "--run", run, "--codec",
        "seedlm-4bit", "--master", "local[2]");
    assertEquals("0", q[0], q[1] + q[2]);
    String[] a = CliRun.run("assemble", "--run", run, "--master", "local[2]");
    assertEquals("0", a[0], a[1] + a[2]);
    String[] v = CliRun.run("verify", "--run", run, "--master", "local[2]");
    assertEquals("0", v[0], v[1] + v[2]);

    String[] e = CliRun.run("eval", "--model", STORIES.toString(), "--packed", run, "--items", "12",
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

    // verify --eval: the exactness check, then the same causal evaluation and gate for this run's model
    String[] ve = CliRun.run("verify", "--run", run, "--eval", "--items", "12", "--generated", "2",
        "--generated-tokens", "16", "--brown", brown, "--max-drop-accuracy", "100", "--master", "local[2]");
    assertEquals("0", ve[0], ve[1] + ve[2]);
    assertTrue(ve[1].contains("[verify] OK") && ve[1].contains(kl) && ve[1].contains("PASS"), ve[1]);

    // the same evaluation with a KL limit below what it measured: exit 4, naming the KL
    String[] g = CliRun.run("eval", "--model", STORIES.toString(), "--packed", run, "--items", "12",
        "--generated", "2", "--generated-tokens", "16", "--brown", brown, "--max-drop-accuracy", "100",
        "--max-kl", String.valueOf(meanKl / 2));
    assertEquals("4", g[0], g[1] + g[2]);
    assertTrue(g[2].contains("seedlm: eval gate: mean KL"), g[2]);

    // GOLDEN.md prompt 1, greedy, 20 tokens
    String[] gen = CliRun.run("generate", "--model", STORIES.toString(), "--prompt",
        "Once upon a time, there was a little girl named Lily.", "--max-new-tokens", "20");
    assertEquals("0", gen[0], gen[1] + gen[2]);
    assertEquals("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
        + "One day, she", gen[1].strip());

    // report --model: the codec table for the Llama, resuming the run above and quantizing one more codec
    String[] r = CliRun.run("report", "--work", tmp.resolve("work").toString(), "--model", STORIES.toString(),
        "--codecs", "seedlm-4bit,rtn-sym-b4-g128", "--items", "12", "--brown", brown, "--max-drop-accuracy", "100", "--master", "local[2]",
        "--allocate", "3.0,4.01");
    assertEquals("0", r[0], r[1] + r[2]);
    assertTrue(r[1].lines().anyMatch(l -> l.startsWith("[quantize] " + run + ":") && l.contains("; 0 units to compute")),
        r[1]);
    List<String> header = r[1].lines().filter(l -> l.startsWith("codec ")).toList();
    assertEquals(1, header.size(), r[1]);
    for (String col : new String[] {"bits/w", "verify", "ppl", "ppl_q", "acc", "accn_q", "KL", "top1=", "gate"}) {
      assertTrue(header.get(0).contains(" " + col), col + " in " + header.get(0));
    }
    for (String codec : new String[] {"seedlm-4bit", "rtn-sym-b4-g128"}) {
      String row = r[1].lines().filter(l -> l.startsWith(codec + " ")).reduce((first, last) -> last).orElseThrow();
      String[] cells = row.trim().split("\\s+");
      assertEquals("ok", cells[4], row);
      assertEquals("pass", cells[cells.length - 1], row);
      // the original's perplexity is the same for every codec: one set of items, one original
      assertEquals(cells[5], r[1].lines().filter(l -> l.startsWith("seedlm-4bit ")).reduce((first, last) -> last)
          .orElseThrow().trim().split("\\s+")[5], row);
    }
    // report --allocate: 3.0 is below both codecs (a row naming the smallest reachable size, seedlm-4bit's 4.0012);
    // 4.01 is a mixed model within the target, verified and evaluated like a codec
    String infeasible = r[1].lines().filter(l -> l.startsWith("alloc-3.00 ")).reduce((first, last) -> last).orElseThrow();
    assertTrue(infeasible.contains("infeasible: the smallest reachable size from these codecs is 4.0012 bits/weight"),
        infeasible);
    String[] mixed = r[1].lines().filter(l -> l.startsWith("alloc-4.01 ")).reduce((first, last) -> last).orElseThrow()
        .trim().split("\\s+");
    assertTrue(Double.parseDouble(mixed[1]) <= 4.01 && Double.parseDouble(mixed[1]) >= 4.0012, String.join(" ", mixed));
    assertTrue(Double.parseDouble(mixed[2]) <= Double.parseDouble(mixed[3]), String.join(" ", mixed)); // median <= worst
    assertEquals("ok", mixed[4], String.join(" ", mixed));
    assertEquals("pass", mixed[mixed.length - 1], String.join(" ", mixed));
    assertTrue(Files.exists(tmp.resolve("work/runs/stories260K-alloc-4.01/allocation.json")));

    // allocate over the two runs at 4.01 bits/weight (seedlm-4bit is 4.0012 here: format version 2's offset byte per
    // group weighs more on stories260K's small tensors): within the target, and no worse than seedlm-4bit alone
    String runs = tmp.resolve("work/runs/stories260K-seedlm-4bit") + "," + tmp.resolve("work/runs/stories260K-rtn-sym-b4-g128");
    String[] al = CliRun.run("allocate", "--runs", runs, "--target-bpw", "4.01");
    assertEquals("0", al[0], al[1] + al[2]);
    String[] alloc = al[1].lines().filter(l -> l.startsWith("allocated ")).findFirst().orElseThrow().trim()
        .split("\\s+");
    String[] single = al[1].lines().filter(l -> l.startsWith("seedlm-4bit ")).reduce((first, last) -> last)
        .orElseThrow().trim().split("\\s+");
    assertTrue(Double.parseDouble(alloc[1]) <= 4.01, al[1]);
    assertTrue(Double.parseDouble(alloc[5]) <= Double.parseDouble(single[5]), al[1]);
    String[] none = CliRun.run("allocate", "--runs", runs, "--target-bpw", "3.5");
    assertEquals("2", none[0], none[1] + none[2]);
    assertTrue(none[2].contains("the smallest reachable size is"), none[2]);

    // allocate --objective kl (issue 16 item 2): one evaluation per tensor and codec (35 x 2), stored in each run's
    // sensitivity.json, reused by the next allocate; the allocated model verifies
    String mixedKl = tmp.resolve("work/runs/stories260K-alloc-kl-4.01").toString();
    String[] k = CliRun.run("allocate", "--runs", runs, "--target-bpw", "4.01", "--objective", "kl", "--items", "4",
        "--brown", brown, "--out", mixedKl);
    assertEquals("0", k[0], k[1] + k[2]);
    assertTrue(k[1].contains("[allocate] objective kl: 35 tensors x 2 codecs = 70 evaluations"), k[1]);
    assertEquals(70, k[1].lines().filter(l -> l.startsWith("[sensitivity] ") && l.contains(" quantized alone: KL "))
        .count(), k[1]);
    String[] klAlloc = k[1].lines().filter(l -> l.startsWith("allocated ")).findFirst().orElseThrow().trim()
        .split("\\s+");
    assertTrue(Double.parseDouble(klAlloc[1]) <= 4.01, k[1]);
    double predicted = Double.parseDouble(klAlloc[9]);
    String[] seedlm4 = k[1].lines().filter(l -> l.startsWith("seedlm-4bit ") && l.contains("predicted KL"))
        .findFirst().orElseThrow().trim().split("\\s+");
    // seedlm-4bit alone (4.0012 bits/weight) is within the target: the exact optimum predicts no more
    assertTrue(predicted > 0 && predicted <= Double.parseDouble(seedlm4[9]), k[1]);
    java.nio.file.Path stored = tmp.resolve("work/runs/stories260K-seedlm-4bit/sensitivity.json");
    java.nio.file.attribute.FileTime written = Files.getLastModifiedTime(stored);
    String[] again = CliRun.run("allocate", "--runs", runs, "--target-bpw", "4.01", "--objective", "kl", "--items",
        "4", "--brown", brown);
    assertEquals("0", again[0], again[1] + again[2]);
    assertTrue(again[1].lines().noneMatch(l -> l.contains(" quantized alone: KL ")), again[1]); // no evaluation
    assertEquals(written, Files.getLastModifiedTime(stored));
    assertEquals(k[1].lines().filter(l -> l.startsWith("allocated ")).findFirst(),
        again[1].lines().filter(l -> l.startsWith("allocated ")).findFirst());
    String[] vk = CliRun.run("verify", "--run", mixedKl, "--master", "local[2]");
    assertEquals("0", vk[0], vk[1] + vk[2]);
    assertTrue(vk[1].contains("[verify] OK"), vk[1]);

    // the same report with a KL limit no 4-bit codec meets here: exit 4, naming both codecs; its KL-allocated row
    // takes the per-tensor KL from the 4-item evaluations allocate stored (--sensitivity-items 4: nothing measured
    // again) and is evaluated with the rows' 12 items
    String[] f = CliRun.run("report", "--work", tmp.resolve("work").toString(), "--model", STORIES.toString(),
        "--codecs", "seedlm-4bit,rtn-sym-b4-g128", "--items", "12", "--brown", brown, "--max-drop-accuracy", "100",
        "--max-kl", "0.001", "--master", "local[2]", "--allocate", "4.01", "--objective", "kl", "--sensitivity-items",
        "4");
    assertEquals("4", f[0], f[1] + f[2]);
    assertTrue(f[2].contains("seedlm: report: failed seedlm-4bit (gate), rtn-sym-b4-g128 (gate), alloc-kl-4.01 (gate)"),
        f[2]);
    assertTrue(f[1].lines().noneMatch(l -> l.contains(" quantized alone: KL ")), f[1]);
    assertTrue(f[1].lines().anyMatch(l -> l.startsWith("[sensitivity] seedlm-4bit: 35 tensors, every KL reused")), f[1]);
    assertEquals(written, Files.getLastModifiedTime(stored));
  }
}
