package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exit codes and messages of bad requests, checked before any Spark work starts. */
class CliTest {

  private static String[] run(String... args) {
    PrintStream oldErr = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int rc = Cli.run(args);
      return new String[] {Integer.toString(rc), err.toString(StandardCharsets.UTF_8)};
    } finally {
      System.setErr(oldErr);
    }
  }

  @Test
  void unknownOptionIsBadInput() {
    String[] r = run("quantize", "--model", "m", "--run", "r", "--codecc", "x");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("--codecc"), r[1]);
  }

  @Test
  void unknownCodecIsRefusedByName(@TempDir Path tmp) {
    String[] r = run("quantize", "--model", tmp.toString(), "--run", tmp.resolve("run").toString(), "--codec",
        "seedlm-5bit");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("Cannot use codec \"seedlm-5bit\""), r[1]);
  }

  @Test
  void badTensorCodecNamesAndParametersAreRefusedNamingTheOption(@TempDir Path tmp) {
    // an unknown form of a tensor-level name, then parameters out of range: exit 2 before Spark starts
    for (String codec : new String[] {"ternary-g64", "ternary-g0-t0.7", "kashin-n0-k2", "int8-row-ox"}) {
      String[] r = run("quantize", "--model", tmp.toString(), "--run", tmp.resolve("run").toString(), "--codec",
          codec);
      assertEquals("2", r[0], codec + ": " + r[1]);
      assertTrue(r[1].contains("--codec"), r[1]);
    }
    String[] r = run("quantize", "--model", tmp.toString(), "--run", tmp.resolve("run").toString(), "--codec",
        "ternary-g0-t0.7");
    assertTrue(r[1].contains("groupSize=0"), r[1]);
    // report: an allocation needs a block codec to choose from
    String[] a = run("report", "--work", tmp.toString(), "--codecs", "int8-row,kashin");
    assertEquals("2", a[0], a[1]);
    assertTrue(a[1].contains("--allocate"), a[1]);
  }

  @Test
  void unknownKernelIsRefused(@TempDir Path tmp) {
    String[] r = run("quantize", "--model", tmp.toString(), "--run", tmp.resolve("run").toString(), "--kernel",
        "gpu");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("Cannot use kernel \"gpu\": expected fast or reference (set --kernel)"), r[1]);
  }

  @Test
  void unknownDeviceIsRefused(@TempDir Path tmp) {
    String[] r = run("quantize", "--model", tmp.toString(), "--run", tmp.resolve("run").toString(), "--device", "tpu");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("Cannot use device \"tpu\": expected cpu, gpu or auto (set --device)"), r[1]);
  }

  /** Where no GPU can be used (this build machine): --device gpu is bad input, before Spark starts. */
  @Test
  void deviceGpuWithoutAGpuIsRefused(@TempDir Path tmp) {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        org.seedlm.pipeline.gpu.Devices.open("auto", 0, m -> {}).isEmpty(), "a GPU is usable here");
    String[] r = run("quantize", "--model", tmp.toString(), "--run", tmp.resolve("run").toString(), "--device", "gpu");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("Cannot use --device gpu: ") && r[1].contains("(use --device cpu or auto)"), r[1]);
  }

  @Test
  void statusOfAMissingRunSaysWhatToDo(@TempDir Path tmp) {
    String[] r = run("status", "--run", tmp.resolve("nothing").toString());
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("no run.json (is this a run directory? create one with `seedlm quantize`)"), r[1]);
  }

  @Test
  void unknownErrorFormatIsRefused(@TempDir Path tmp) {
    String[] r = run("errors", "--run", tmp.toString(), "--format", "xml");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("Cannot write format \"xml\": expected text, csv or json (set --format)"), r[1]);
  }

  @Test
  void generateRefusesABadSamplingOption(@TempDir Path tmp) {
    String[] r = run("generate", "--model", tmp.toString(), "--prompt", "x", "--top-p", "1.5");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("--top-p in (0, 1]"), r[1]);
  }

  @Test
  void evalOfAnUnsupportedModelTypeNamesIt(@TempDir Path tmp) throws Exception {
    java.nio.file.Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"gpt2\", "
        + "\"architectures\": [\"GPT2LMHeadModel\"]}");
    String[] r = run("eval", "--model", tmp.toString());
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("cannot evaluate model_type gpt2 (") && r[1].contains("supported are bert, llama, "
        + "mistral, qwen2"), r[1]);
  }

  @Test
  void projectNeedsExactlyOneModelOrShape() {
    String[] r = run("project");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("give exactly one of --model DIR and --shape NAME"), r[1]);
    r = run("project", "--shape", "llama-9-1t");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("Cannot project shape \"llama-9-1t\": expected one of"), r[1]);
  }

  @Test
  void badShardSizeIsRefused(@TempDir Path tmp) {
    String[] r = run("assemble", "--run", tmp.toString(), "--shard-size", "lots");
    assertEquals("2", r[0]);
    assertTrue(r[1].contains("Cannot use shard-size=\"lots\""), r[1]);
  }

  @Test
  void onlyRecognisedInputErrorsAreBadInput() {
    assertTrue(Cli.isBadInput(new org.seedlm.pipeline.BadInputException("Cannot use --x")));
    assertTrue(Cli.isBadInput(new org.seedlm.pipeline.run.RunMismatchException("other model")));
    assertTrue(Cli.isBadInput(new org.seedlm.pipeline.run.IncompleteRunException("not assembled")));
    assertTrue(Cli.isBadInput(new org.seedlm.pipeline.run.NonFiniteWeightsException("NaN in block 3")));
    assertTrue(Cli.isBadInput(new org.seedlm.pipeline.safetensors.CheckpointException("truncated")));
    // a plain IllegalArgumentException or IllegalStateException is a bug in this code, not the user's input
    assertFalse(Cli.isBadInput(new IllegalArgumentException("matmul shapes")));
    assertFalse(Cli.isBadInput(new IllegalStateException("unexpected")));
    assertFalse(Cli.isBadInput(new NullPointerException()));
  }

  @Test
  void tensorsListsTheReasonForEveryKeptTensor(@TempDir Path tmp) throws Exception {
    new org.seedlm.pipeline.safetensors.SafetensorsWriter()
        .add("model.embed_tokens.weight", org.seedlm.pipeline.safetensors.DType.BF16, new long[] {4, 8}, new byte[64])
        .add("model.layers.0.self_attn.qkv_proj.weight", org.seedlm.pipeline.safetensors.DType.BF16,
            new long[] {24, 8}, new byte[384])
        .add("model.layers.0.mlp.experts.0.up_proj.weight", org.seedlm.pipeline.safetensors.DType.F8_E4M3,
            new long[] {16, 8}, new byte[128])
        .add("model.norm.weight", org.seedlm.pipeline.safetensors.DType.F32, new long[] {8}, new byte[32])
        .write(new org.apache.hadoop.fs.Path(tmp.resolve("model.safetensors").toString()),
            new org.apache.hadoop.conf.Configuration());
    String[] r = CliRun.run("tensors", "--model", tmp.toString());
    assertEquals("0", r[0], r[2]);
    String out = r[1];
    assertTrue(out.contains("  BF16    [4, 8]             model.embed_tokens.weight  (kept: embedding)\n"), out);
    assertTrue(out.contains("Q BF16    [24, 8]            model.layers.0.self_attn.qkv_proj.weight\n"), out);
    assertTrue(out.contains("  F8_E4M3 [16, 8]            model.layers.0.mlp.experts.0.up_proj.weight  "
        + "(kept: dtype F8_E4M3)\n"), out);
    assertTrue(out.contains("  F32     [8]                model.norm.weight  (kept: rank 1)\n"), out);
    assertTrue(out.contains("1 quantized, 3 kept (2 of them 2-D or 3-D float weights)"), out);
  }

  @Test
  void aDamagedRunDirectoryIsBadInputNamingTheFile(@TempDir Path tmp) throws Exception {
    java.nio.file.Files.writeString(tmp.resolve("run.json"), "[1, 2, 3]"); // JSON, but not a run spec
    String[] r = run("status", "--run", tmp.toString());
    assertEquals("2", r[0], r[1]);
    assertTrue(r[1].contains("run.json: malformed JSON") && r[1].contains("use a new one"), r[1]);
    assertFalse(r[1].contains("\tat "), "no stack trace for bad input: " + r[1]);
  }
}
