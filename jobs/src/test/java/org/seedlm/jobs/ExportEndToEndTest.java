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
 * fused decode kernel), and {@code generate} on the bf16 export runs too. The mixed model that
 * {@code allocate --out} builds from that run and an RTN run verifies, generates and exports the same way.
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

    // a mixed model (issue 16): allocate over this run and an RTN run, then verify, generate and export it
    String rtn = tmp.resolve("rtn").toString();
    String[] qr = CliRun.run("quantize", "--model", model, "--run", rtn, "--codec", "rtn-sym-b4-g128", "--master",
        "local[2]");
    assertEquals("0", qr[0], qr[1] + qr[2]);
    String mixed = tmp.resolve("mixed").toString();
    String[] notAssembled = CliRun.run("allocate", "--runs", run + "," + rtn, "--target-bpw", "4.06", "--out", mixed);
    assertEquals("2", notAssembled[0], notAssembled[1] + notAssembled[2]);
    assertTrue(notAssembled[2].contains("Cannot build the allocated model from run " + rtn + ": it is not assembled"),
        notAssembled[2]);
    String[] ar = CliRun.run("assemble", "--run", rtn, "--master", "local[2]");
    assertEquals("0", ar[0], ar[1] + ar[2]);
    String[] al = CliRun.run("allocate", "--runs", run + "," + rtn, "--target-bpw", "4.06", "--out", mixed);
    assertEquals("0", al[0], al[1] + al[2]);
    assertTrue(al[1].lines().anyMatch(l -> l.contains(" seedlm-4bit ")) && al[1].lines()
        .anyMatch(l -> l.contains(" rtn-sym-b4-g128 ") && l.startsWith("model.layers.")), "a real mix:\n" + al[1]);
    String[] vm = CliRun.run("verify", "--run", mixed, "--master", "local[2]");
    assertEquals("0", vm[0], vm[1] + vm[2]);
    assertTrue(vm[1].contains("[verify] OK"), vm[1]);
    String[] gm = CliRun.run("generate", "--model", model, "--packed", mixed, "--prompt", PROMPT, "--max-new-tokens",
        "20");
    assertEquals("0", gm[0], gm[1] + gm[2]);
    String mixedF32 = tmp.resolve("export-mixed").toString();
    String[] em = CliRun.run("export", "--run", mixed, "--out", mixedF32, "--dtype", "f32", "--master", "local[2]");
    assertEquals("0", em[0], em[1] + em[2]);
    String[] ge = CliRun.run("generate", "--model", mixedF32, "--prompt", PROMPT, "--max-new-tokens", "20");
    assertEquals("0", ge[0], ge[1] + ge[2]);
    assertEquals(gm[1].strip(), ge[1].strip());

    String bf16 = tmp.resolve("export-bf16").toString();
    String[] b = CliRun.run("export", "--run", run, "--out", bf16, "--master", "local[2]");
    assertEquals("0", b[0], b[1] + b[2]);
    assertTrue(Files.readString(Path.of(bf16, "config.json")).contains("\"torch_dtype\" : \"bfloat16\""));
    String[] g = CliRun.run("generate", "--model", bf16, "--prompt", PROMPT, "--max-new-tokens", "5");
    assertEquals("0", g[0], g[1] + g[2]);
    assertTrue(g[1].startsWith(PROMPT), g[1]);
  }
}
