package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunSpecTest {

  static RunSpec spec() {
    return new RunSpec(RunSpec.FORMAT, RunSpec.VERSION, "/models/llama", "ab".repeat(32), "seedlm-4bit",
        Map.of("C", "8", "P", "3", "K", "16"), List.of("q_proj"), List.of("layers\\.0\\."), 65536, "fail",
        "cd".repeat(32));
  }

  static RunSpec with(RunSpec s, String model, String fp, String codec, Map<String, String> params,
      List<String> inc, List<String> exc, int unitBlocks, String nonFinite) {
    return new RunSpec(s.format(), s.version(), model, fp, codec, params, inc, exc, unitBlocks, nonFinite,
        s.modelContent());
  }

  @Test
  void equalSpecsHaveNoDifferences() {
    assertEquals(List.of(), spec().differences(spec()));
    assertEquals(spec(), spec());
    // A moved copy of the same model (same fingerprint) is accepted.
    RunSpec moved = with(spec(), "/elsewhere/llama", spec().modelFingerprint(), "seedlm-4bit",
        spec().codecParams(), spec().include(), spec().exclude(), 65536, "fail");
    assertEquals(List.of(), spec().differences(moved));
  }

  @Test
  void spellingOutTheDefaultSelectionIsTheDefaultSelection() {
    RunSpec spelled = with(spec(), "/models/llama", spec().modelFingerprint(), "seedlm-4bit", spec().codecParams(),
        List.of(TensorSelection.DEFAULT_PATTERN), spec().exclude(), 65536, "fail");
    RunSpec implicit = with(spec(), "/models/llama", spec().modelFingerprint(), "seedlm-4bit", spec().codecParams(),
        List.of(), spec().exclude(), 65536, "fail");
    assertEquals(List.of(), spelled.include());
    assertEquals(List.of(), spelled.differences(implicit));
  }

  @Test
  void eachDifferenceIsListedReadably() {
    RunSpec a = spec();
    RunSpec b = with(a, "/models/other", "cd".repeat(32), "seedlm-3bit", Map.of("C", "12", "P", "4", "K", "16"),
        List.of(), List.of("mlp"), 8, "zero");
    List<String> d = a.differences(b);
    assertEquals(7, d.size(), String.join("\n", d));
    assertTrue(d.get(0).startsWith("model: the run was made from /models/llama (fingerprint abababababab)"), d.get(0));
    assertTrue(d.get(0).contains("this command reads /models/other (fingerprint cdcdcdcdcdcd)"), d.get(0));
    assertEquals("codec: the run has seedlm-4bit, this command asks for seedlm-3bit", d.get(1));
    assertEquals("codec parameters: the run has {C=8, K=16, P=3}, this command asks for {C=12, K=16, P=4}",
        d.get(2));
    assertEquals("include patterns: the run has [q_proj], this command asks for []", d.get(3));
    assertEquals("exclude patterns: the run has [layers\\.0\\.], this command asks for [mlp]", d.get(4));
    assertEquals("unit-blocks: the run has 65536, this command asks for 8", d.get(5));
    assertEquals("non-finite policy: the run has fail, this command asks for zero", d.get(6));

    // A run directory of block table layout 1 (before lean block tables) is not resumed by this version.
    RunSpec v1 = new RunSpec(RunSpec.FORMAT, 1, a.model(), a.modelFingerprint(), a.codec(), a.codecParams(),
        a.include(), a.exclude(), a.unitBlocks(), a.nonFinite(), a.modelContent());
    List<String> old = v1.differences(a);
    assertEquals(2, old.size(), old.toString());
    assertEquals("format: the run has seedlm-run v1, this command asks for seedlm-run v2", old.get(0));
    assertTrue(old.get(1).contains("older seedlm (block table layout 1)")
        && old.get(1).contains("quantize into a new run directory"), old.get(1));
  }

  @Test
  void unknownNonFinitePolicyIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> with(spec(), "m", "f", "seedlm-4bit", Map.of(), List.of(), List.of(), 8, "clip"));
    assertTrue(e.getMessage().contains("\"clip\""), e.getMessage());
    assertTrue(e.getMessage().contains("[fail, zero]"), e.getMessage());
    assertTrue(e.getMessage().contains("--non-finite"), e.getMessage());
  }

  @Test
  void selectionUsesThePatterns() {
    TensorSelection s = spec().selection();
    assertEquals(List.of("q_proj"), s.include());
    assertEquals(List.of("layers\\.0\\."), s.exclude());
  }

  @Test
  void jsonRoundTrip() throws Exception {
    RunSpec a = spec();
    String json = RunDirectory.json().writeValueAsString(a);
    RunSpec b = RunDirectory.json().readValue(json, RunSpec.class);
    assertEquals(a, b);
    assertEquals(List.of(), a.differences(b));
    // Map entries are written in key order, so the JSON is deterministic.
    assertTrue(json.indexOf("\"C\"") < json.indexOf("\"K\"") && json.indexOf("\"K\"") < json.indexOf("\"P\""), json);
    assertEquals(json, RunDirectory.json().writeValueAsString(b));
  }
}
