package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code seedlm export} on the real stories260K (../shared/models): refused before assembly, then the f32
 * export of a SeedLM 4-bit run generates the same greedy tokens as {@code generate --packed} on that run (the
 * fused decode kernel), and {@code generate} on the bf16 export runs too.
 */
class ExportEndToEndTest {
  static final String PROMPT = "Once upon a time, there was a little girl named Lily.";

  @Test
  void exportGeneratesTheSameTokensAsThePackedModel(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(Files.exists(LlamaEndToEndTest.STORIES.resolve("GOLDEN.md")),
        "../shared/models/stories260K is absent: skipping the export end-to-end test");
    String model = LlamaEndToEndTest.STORIES.toString();
    String run = tmp.resolve("run").toString();
    String f32 = tmp.resolve("export-f32").toString();
    String[] q = CliRun.run("quantize", "--model", model, "--run", run, "--codec", "seedlm-4bit", "--master",
        "local[2]");
    assertEquals("0", q[0], q[1] + q[2]);

    String[] early = CliRun.run("export", "--run", run, "--out", f32, "--master", "local[2]");
    assertEquals("2", early[0], early[1] + early[2]);
    assertTrue(early[2].contains("seedlm: Cannot export run " + run + ": it is not assembled (no packed/manifest.json;"
        + " run `seedlm assemble --run " + run + "` first)"), early[2]);
    String[] dtype = CliRun.run("export", "--run", run, "--out", f32, "--dtype", "int4");
    assertEquals("2", dtype[0], dtype[1] + dtype[2]);
    assertTrue(dtype[2].contains("seedlm: Cannot export: --dtype int4 is not one of bf16, f16, f32"), dtype[2]);

    String[] a = CliRun.run("assemble", "--run", run, "--master", "local[2]");
    assertEquals("0", a[0], a[1] + a[2]);
    String[] e = CliRun.run("export", "--run", run, "--out", f32, "--dtype", "f32", "--master", "local[2]");
    assertEquals("0", e[0], e[1] + e[2]);
    assertTrue(e[2].contains("[export] wrote " + f32), e[2]);
    String[] again = CliRun.run("export", "--run", run, "--out", f32, "--dtype", "f32", "--master", "local[2]");
    assertEquals("2", again[0], again[1] + again[2]);
    assertTrue(again[2].contains("it exists and is not an empty directory"), again[2]);

    String[] packed = CliRun.run("generate", "--model", model, "--packed", run, "--prompt", PROMPT,
        "--max-new-tokens", "20");
    assertEquals("0", packed[0], packed[1] + packed[2]);
    String[] exported = CliRun.run("generate", "--model", f32, "--prompt", PROMPT, "--max-new-tokens", "20");
    assertEquals("0", exported[0], exported[1] + exported[2]);
    assertEquals(packed[1].strip(), exported[1].strip());
    assertTrue(exported[1].strip().length() > PROMPT.length() + 20, exported[1]);

    String bf16 = tmp.resolve("export-bf16").toString();
    String[] b = CliRun.run("export", "--run", run, "--out", bf16, "--master", "local[2]");
    assertEquals("0", b[0], b[1] + b[2]);
    assertTrue(Files.readString(Path.of(bf16, "config.json")).contains("\"torch_dtype\" : \"bfloat16\""));
    String[] g = CliRun.run("generate", "--model", bf16, "--prompt", PROMPT, "--max-new-tokens", "5");
    assertEquals("0", g[0], g[1] + g[2]);
    assertTrue(g[1].startsWith(PROMPT), g[1]);
  }
}
