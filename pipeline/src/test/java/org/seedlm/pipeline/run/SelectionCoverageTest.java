package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.DType;

/**
 * Every linear layer is accounted for: sparse header-only checkpoints with the real names and shapes of Mixtral-8x7B
 * (two of its 32 layers), Phi-3-mini (fused qkv and gate_up; two of 32 layers), Qwen1.5-MoE-A2.7B (2-D experts,
 * shared expert, routers; one layer, 4 of 60 experts) next to a layer in the newer 3-D expert layout, and a
 * DeepSeek-V3-style FP8 checkpoint. Each test lists by hand which tensors are selected and why the others are kept.
 */
class SelectionCoverageTest {

  @TempDir
  java.nio.file.Path dir;

  /** Opens the sparse checkpoint and plans it with the default selection and block size 8. */
  private Plan plan(List<Map<String, long[]>> shards, java.util.function.Function<String, DType> dtypeOf)
      throws Exception {
    PlannerTest.writeSparseShards(dir, shards, dtypeOf);
    try (Checkpoint c = Checkpoint.open(new Path(dir.toString()), new Configuration())) {
      List<Planner.SourceTensor> src = new ArrayList<>();
      c.tensors().values().forEach(t -> src.add(new Planner.SourceTensor(t.shard(), t.info())));
      return Planner.plan(src, TensorSelection.defaults(), 8, 65536);
    }
  }

  private static Map<String, String> kinds(Plan p) {
    Map<String, String> m = new TreeMap<>();
    p.tensors().forEach(t -> m.put(t.name(), t.kind()));
    return m;
  }

  private static Map<String, String> reasons(Plan p) {
    Map<String, String> m = new TreeMap<>();
    p.kept().forEach(k -> m.put(k.name(), k.reason()));
    return m;
  }

  private static long[] s(long... d) {
    return d;
  }

  @Test
  void mixtral8x7bExpertsAreQuantizedAndTheRouterIsKept() throws Exception {
    List<Map<String, long[]>> shards = List.of(new LinkedHashMap<>(), new LinkedHashMap<>());
    shards.get(0).put("model.embed_tokens.weight", s(32000, 4096));
    Map<String, String> want = new TreeMap<>();
    Map<String, String> kept = new TreeMap<>();
    for (int l = 0; l < 2; l++) {
      Map<String, long[]> sh = shards.get(l);
      String p = "model.layers." + l + ".";
      sh.put(p + "self_attn.q_proj.weight", s(4096, 4096));
      sh.put(p + "self_attn.k_proj.weight", s(1024, 4096));
      sh.put(p + "self_attn.v_proj.weight", s(1024, 4096));
      sh.put(p + "self_attn.o_proj.weight", s(4096, 4096));
      sh.put(p + "block_sparse_moe.gate.weight", s(8, 4096));
      for (int e = 0; e < 8; e++) {
        String x = p + "block_sparse_moe.experts." + e + ".";
        sh.put(x + "w1.weight", s(14336, 4096));
        sh.put(x + "w2.weight", s(4096, 14336));
        sh.put(x + "w3.weight", s(14336, 4096));
        want.put(x + "w1.weight", "gate");
        want.put(x + "w2.weight", "down");
        want.put(x + "w3.weight", "up");
      }
      sh.put(p + "input_layernorm.weight", s(4096));
      sh.put(p + "post_attention_layernorm.weight", s(4096));
      for (String k : List.of("q", "k", "v", "o")) {
        want.put(p + "self_attn." + k + "_proj.weight", k);
      }
      kept.put(p + "block_sparse_moe.gate.weight", "router");
      kept.put(p + "input_layernorm.weight", "rank 1");
      kept.put(p + "post_attention_layernorm.weight", "rank 1");
    }
    shards.get(1).put("model.norm.weight", s(4096));
    shards.get(1).put("lm_head.weight", s(32000, 4096));
    kept.put("model.embed_tokens.weight", "embedding");
    kept.put("model.norm.weight", "rank 1");
    kept.put("lm_head.weight", "LM head");

    Plan plan = plan(shards, n -> DType.BF16);
    assertEquals(want, kinds(plan));
    assertEquals(kept, reasons(plan));
    assertEquals(Map.of("LM head", 1, "embedding", 1, "router", 2), plan.keptWeightsByReason());
    // 2 layers x (4 attention + 24 expert matrices): 2 * (2 * 4096^2 + 2 * 1024 * 4096 + 24 * 14336 * 4096) / 8
    assertEquals(2L * (2L * 4096 * 4096 + 2L * 1024 * 4096 + 24L * 14336 * 4096) / 8, plan.numBlocks());
  }

  @Test
  void phi3MiniFusedProjectionsAreQuantized() throws Exception {
    List<Map<String, long[]>> shards = List.of(new LinkedHashMap<>());
    Map<String, long[]> sh = shards.get(0);
    sh.put("model.embed_tokens.weight", s(32064, 3072));
    Map<String, String> want = new TreeMap<>();
    for (int l = 0; l < 2; l++) {
      String p = "model.layers." + l + ".";
      sh.put(p + "self_attn.qkv_proj.weight", s(9216, 3072));
      sh.put(p + "self_attn.o_proj.weight", s(3072, 3072));
      sh.put(p + "mlp.gate_up_proj.weight", s(16384, 3072));
      sh.put(p + "mlp.down_proj.weight", s(3072, 8192));
      sh.put(p + "input_layernorm.weight", s(3072));
      sh.put(p + "post_attention_layernorm.weight", s(3072));
      want.put(p + "self_attn.qkv_proj.weight", "qkv");
      want.put(p + "self_attn.o_proj.weight", "o");
      want.put(p + "mlp.gate_up_proj.weight", "gate_up");
      want.put(p + "mlp.down_proj.weight", "down");
    }
    sh.put("model.norm.weight", s(3072));
    sh.put("lm_head.weight", s(32064, 3072));
    Plan plan = plan(shards, n -> DType.BF16);
    assertEquals(want, kinds(plan));
    assertEquals(Map.of("LM head", 1, "embedding", 1), plan.keptWeightsByReason());
    assertEquals(5, plan.kept().stream().filter(k -> "rank 1".equals(k.reason())).count());
  }

  @Test
  void qwenMoeExpertsSharedExpertAnd3dExpertTensors() throws Exception {
    List<Map<String, long[]>> shards = List.of(new LinkedHashMap<>());
    Map<String, long[]> sh = shards.get(0);
    Map<String, String> want = new TreeMap<>();
    String p = "model.layers.0.mlp.";
    for (int e = 0; e < 4; e++) {
      for (String k : List.of("gate", "up")) {
        sh.put(p + "experts." + e + "." + k + "_proj.weight", s(1408, 2048));
        want.put(p + "experts." + e + "." + k + "_proj.weight", k);
      }
      sh.put(p + "experts." + e + ".down_proj.weight", s(2048, 1408));
      want.put(p + "experts." + e + ".down_proj.weight", "down");
    }
    for (String k : List.of("gate", "up")) {
      sh.put(p + "shared_expert." + k + "_proj.weight", s(5632, 2048));
      want.put(p + "shared_expert." + k + "_proj.weight", k);
    }
    sh.put(p + "shared_expert.down_proj.weight", s(2048, 5632));
    want.put(p + "shared_expert.down_proj.weight", "down");
    sh.put(p + "gate.weight", s(60, 2048));
    sh.put(p + "shared_expert_gate.weight", s(1, 2048));
    // newer layout: one 3-D tensor per projection, [experts, ., .], no ".weight" suffix
    String q = "model.layers.1.mlp.";
    sh.put(q + "experts.gate_up_proj", s(60, 2048, 2816));
    sh.put(q + "experts.down_proj", s(60, 1408, 2048));
    sh.put(q + "gate.weight", s(60, 2048));
    want.put(q + "experts.gate_up_proj", "gate_up");
    want.put(q + "experts.down_proj", "down");
    sh.put("model.layers.1.self_attn.q_proj.bias", s(2048));

    Plan plan = plan(shards, n -> DType.BF16);
    assertEquals(want, kinds(plan));
    assertEquals(Map.of(p + "gate.weight", "router", p + "shared_expert_gate.weight", "router",
        q + "gate.weight", "router", "model.layers.1.self_attn.q_proj.bias", "rank 1"), reasons(plan));
    // a 3-D [experts, out, in] tensor is blocked as experts * out rows of in: 60 * 2048 * 2816 / 8 blocks
    assertEquals(60L * 2048 * 2816 / 8, plan.tensor(q + "experts.gate_up_proj").numBlocks());
    assertEquals(List.of(60L, 2048L, 2816L),
        java.util.Arrays.stream(plan.tensor(q + "experts.gate_up_proj").shape()).boxed().toList());
  }

  @Test
  void fp8CheckpointIsListedAndItsFp8TensorsAreKeptByDtype() throws Exception {
    List<Map<String, long[]>> shards = List.of(new LinkedHashMap<>());
    Map<String, long[]> sh = shards.get(0);
    String p = "model.layers.0.";
    sh.put("model.embed_tokens.weight", s(129280, 7168));
    sh.put(p + "self_attn.q_a_proj.weight", s(1536, 7168));
    sh.put(p + "self_attn.q_a_proj.weight_scale_inv", s(12, 56));
    sh.put(p + "self_attn.kv_a_proj_with_mqa.weight", s(576, 7168));
    sh.put(p + "mlp.experts.0.gate_proj.weight", s(2048, 7168));
    sh.put(p + "mlp.experts.0.gate_proj.weight_scale_inv", s(16, 56));
    sh.put(p + "mlp.experts.1.down_proj.weight", s(7168, 2048));
    sh.put(p + "mlp.gate.weight", s(256, 7168));
    sh.put(p + "mlp.gate.e_score_correction_bias", s(256));
    sh.put(p + "self_attn.q_b_proj.weight", s(24576, 1536));
    sh.put("model.layers.0.mlp.experts.2.up_proj.qweight", s(256, 7168)); // an integer (GPTQ-style) tensor
    Map<String, DType> dtypes = new TreeMap<>();
    dtypes.put(p + "self_attn.q_a_proj.weight", DType.F8_E4M3);
    dtypes.put(p + "self_attn.kv_a_proj_with_mqa.weight", DType.F8_E4M3);
    dtypes.put(p + "mlp.experts.0.gate_proj.weight", DType.F8_E4M3);
    dtypes.put(p + "mlp.experts.1.down_proj.weight", DType.F8_E5M2);
    dtypes.put(p + "self_attn.q_a_proj.weight_scale_inv", DType.F32);
    dtypes.put(p + "mlp.experts.0.gate_proj.weight_scale_inv", DType.F32);
    dtypes.put("model.layers.0.mlp.experts.2.up_proj.qweight", DType.I32);

    Plan plan = plan(shards, n -> dtypes.getOrDefault(n, DType.BF16));
    assertEquals(Map.of(p + "self_attn.q_b_proj.weight", "q_b_proj"), kinds(plan));
    Map<String, String> kept = new TreeMap<>();
    kept.put("model.embed_tokens.weight", "embedding");
    kept.put(p + "self_attn.q_a_proj.weight", "dtype F8_E4M3");
    kept.put(p + "self_attn.kv_a_proj_with_mqa.weight", "dtype F8_E4M3");
    kept.put(p + "mlp.experts.0.gate_proj.weight", "dtype F8_E4M3");
    kept.put(p + "mlp.experts.1.down_proj.weight", "dtype F8_E5M2");
    kept.put(p + "self_attn.q_a_proj.weight_scale_inv", "not matched by the selection");
    kept.put(p + "mlp.experts.0.gate_proj.weight_scale_inv", "not matched by the selection");
    kept.put(p + "mlp.gate.weight", "router");
    kept.put(p + "mlp.gate.e_score_correction_bias", "rank 1");
    kept.put("model.layers.0.mlp.experts.2.up_proj.qweight", "dtype I32");
    assertEquals(kept, reasons(plan));
    // the I32 tensor is not a float weight; the F8 ones are (readable as floats), so they are counted
    assertEquals(Map.of("dtype F8_E4M3", 3, "dtype F8_E5M2", 1, "embedding", 1, "not matched by the selection", 2,
        "router", 1), plan.keptWeightsByReason());
  }

  @Test
  void includeAndExcludeReasonsNameTheOption() {
    var t = new org.seedlm.pipeline.safetensors.TensorInfo("model.layers.3.mlp.up_proj.weight", DType.BF16,
        s(16, 8), 0, 256);
    assertNull(TensorSelection.defaults().keptReason(t));
    assertEquals("excluded by --exclude layers\\.3\\.",
        new TensorSelection(List.of(), List.of("layers\\.3\\.")).keptReason(t));
    assertEquals("not matched by --include", new TensorSelection(List.of("q_proj"), List.of()).keptReason(t));
  }
}
