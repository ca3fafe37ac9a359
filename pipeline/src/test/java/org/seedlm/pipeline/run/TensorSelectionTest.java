package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.TensorInfo;

class TensorSelectionTest {

  private static TensorInfo t(String name, DType dtype, long... shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return new TensorInfo(name, dtype, shape, 0, n * dtype.size());
  }

  private static TensorInfo w2(String name) {
    return t(name, DType.BF16, 16, 8);
  }

  private static final TensorSelection DEF = TensorSelection.defaults();

  @Test
  void defaultSelectsLlamaLinearWeights() {
    for (String k : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
      assertTrue(DEF.selects(w2("model.layers.3." + k + ".weight")), k);
      assertTrue(DEF.selects(t("model.layers.3." + k + ".weight", DType.F32, 4, 4)), k);
      assertTrue(DEF.selects(t("model.layers.3." + k + ".weight", DType.F16, 4, 4)), k);
      assertFalse(DEF.selects(w2("model.layers.3." + k + ".bias")), k + " bias");
    }
    for (String kept : List.of("model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
        "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
        "model.layers.0.self_attn.rotary_emb.inv_freq")) {
      assertFalse(DEF.selects(w2(kept)), kept);
    }
    // 1-D and 4-D tensors and non-float dtypes are never selected, even with a matching name; 3-D ones are
    // (blocked as rows of the last dimension).
    assertFalse(DEF.selects(t("model.layers.0.mlp.up_proj.weight", DType.BF16, 128)));
    assertFalse(DEF.selects(t("model.layers.0.mlp.up_proj.weight", DType.I8, 16, 8)));
    assertFalse(DEF.selects(t("model.layers.0.mlp.up_proj.weight", DType.U8, 16, 8)));
    assertFalse(DEF.selects(t("model.layers.0.mlp.up_proj.weight", DType.F64, 16, 8)));
    assertTrue(DEF.selects(t("model.layers.0.mlp.up_proj.weight", DType.BF16, 2, 8, 8)));
    assertFalse(DEF.selects(t("model.layers.0.mlp.up_proj.weight", DType.BF16, 2, 2, 8, 8)));
  }

  @Test
  void defaultSelectsBertLinearWeights() {
    String p = "bert.encoder.layer.11.";
    for (String k : List.of("attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "intermediate.dense", "output.dense")) {
      assertTrue(DEF.selects(t(p + k + ".weight", DType.F32, 768, 768)), k);
      assertFalse(DEF.selects(t(p + k + ".bias", DType.F32, 768)), k + " bias");
      assertFalse(DEF.selects(t(p + k + ".bias", DType.F32, 1, 768)), k + " 2-D bias");
    }
    for (String kept : List.of("bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
        "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
        p + "attention.output.LayerNorm.weight", p + "output.LayerNorm.weight", "bert.pooler.dense.weight",
        "cls.predictions.transform.dense.weight", "cls.seq_relationship.weight",
        "cls.predictions.decoder.weight")) {
      assertFalse(DEF.selects(t(kept, DType.F32, 30, 768)), kept);
    }
  }

  @Test
  void layerAndKind() {
    assertEquals(17, TensorSelection.layerOf("model.layers.17.mlp.down_proj.weight"));
    assertEquals(3, TensorSelection.layerOf("bert.encoder.layer.3.attention.self.query.weight"));
    assertEquals(-1, TensorSelection.layerOf("model.embed_tokens.weight"));
    assertEquals(-1, TensorSelection.layerOf("lm_head.weight"));
    assertEquals(-1, TensorSelection.layerOf("bert.pooler.dense.weight"));
    assertEquals(0, TensorSelection.layerOf("layers.0.mlp.up_proj.weight"));

    assertEquals("q", TensorSelection.kindOf("model.layers.0.self_attn.q_proj.weight"));
    assertEquals("k", TensorSelection.kindOf("model.layers.0.self_attn.k_proj.weight"));
    assertEquals("v", TensorSelection.kindOf("model.layers.0.self_attn.v_proj.weight"));
    assertEquals("o", TensorSelection.kindOf("model.layers.0.self_attn.o_proj.weight"));
    assertEquals("gate", TensorSelection.kindOf("model.layers.0.mlp.gate_proj.weight"));
    assertEquals("up", TensorSelection.kindOf("model.layers.0.mlp.up_proj.weight"));
    assertEquals("down", TensorSelection.kindOf("model.layers.0.mlp.down_proj.weight"));
    String p = "bert.encoder.layer.0.";
    assertEquals("q", TensorSelection.kindOf(p + "attention.self.query.weight"));
    assertEquals("k", TensorSelection.kindOf(p + "attention.self.key.weight"));
    assertEquals("v", TensorSelection.kindOf(p + "attention.self.value.weight"));
    assertEquals("o", TensorSelection.kindOf(p + "attention.output.dense.weight"));
    assertEquals("up", TensorSelection.kindOf(p + "intermediate.dense.weight"));
    assertEquals("down", TensorSelection.kindOf(p + "output.dense.weight"));
    assertEquals("input_layernorm", TensorSelection.kindOf("model.layers.0.input_layernorm.weight"));
    assertEquals("embed_tokens", TensorSelection.kindOf("model.embed_tokens.weight"));
    assertEquals("lm_head", TensorSelection.kindOf("lm_head.weight"));
  }

  @Test
  void includeAndExclude() {
    TensorSelection noMlp = new TensorSelection(List.of(), List.of("\\.mlp\\."));
    assertTrue(noMlp.selects(w2("model.layers.0.self_attn.q_proj.weight")));
    assertFalse(noMlp.selects(w2("model.layers.0.mlp.up_proj.weight")));

    TensorSelection withHead = new TensorSelection(List.of("lm_head", "q_proj"), List.of());
    assertTrue(withHead.selects(w2("lm_head.weight")));
    assertTrue(withHead.selects(w2("model.layers.0.self_attn.q_proj.weight")));
    // Includes replace the default.
    assertFalse(withHead.selects(w2("model.layers.0.mlp.up_proj.weight")));
    // Still only 2-D float tensors.
    assertFalse(withHead.selects(t("lm_head.weight", DType.I32, 4, 4)));
    assertFalse(withHead.selects(t("lm_head.bias", DType.F32, 4)));

    TensorSelection both = new TensorSelection(List.of("layers\\.\\d+\\."), List.of("layers\\.1\\."));
    assertTrue(both.selects(w2("model.layers.0.input_layernorm.weight")));
    assertTrue(both.selects(w2("model.layers.10.mlp.up_proj.weight")));
    assertFalse(both.selects(w2("model.layers.1.mlp.up_proj.weight")));
    // find(), not matches(): a partial match selects.
    assertTrue(new TensorSelection(List.of("up"), List.of()).selects(w2("model.layers.0.mlp.up_proj.weight")));
  }

  @Test
  void invalidPatternsAreRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new TensorSelection(List.of("layers.(\\d+"), List.of()));
    assertTrue(e.getMessage().startsWith("Cannot use include pattern \"layers.(\\d+\""), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new TensorSelection(List.of(), List.of("[a-")));
    assertTrue(e.getMessage().startsWith("Cannot use exclude pattern \"[a-\""), e.getMessage());
  }
}
