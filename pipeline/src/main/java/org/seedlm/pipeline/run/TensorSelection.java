package org.seedlm.pipeline.run;

import org.seedlm.pipeline.BadInputException;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.seedlm.pipeline.safetensors.TensorInfo;

/**
 * Which tensors of a checkpoint are quantized, why the others are kept, and how each is classified
 * (layer index, kind).
 *
 * <p>Default (SPEC §6): every weight of a linear layer inside the transformer blocks: the Llama
 * family ({@code q/k/v/o/gate/up/down_proj}), DeepSeek's MLA ({@code q_a/q_b/kv_a/kv_b_proj}), fused
 * projections ({@code self_attn.qkv_proj}, {@code mlp.gate_up_proj}: Phi-3 and others), MoE experts (Mixtral {@code
 * block_sparse_moe.experts.N.w1/w2/w3}, Qwen2-MoE / DeepSeek {@code mlp.experts.N.*_proj}, shared
 * experts {@code mlp.shared_expert(s).*_proj}, and 3-D expert tensors {@code [experts, out, in]} such
 * as {@code mlp.experts.gate_up_proj} of newer Hugging Face layouts), and the BERT family (attention
 * query/key/value/output dense, intermediate dense, output dense). Embeddings, the LM head, routers
 * ({@code block_sparse_moe.gate}, {@code mlp.gate}), norms and biases are kept; {@link #keptReason}
 * says why for each tensor. Users narrow or widen this with include and exclude regular expressions,
 * matched with {@link Matcher#find()} against the tensor name: a tensor is selected when it is a
 * 2-D or 3-D F32/F16/BF16 weight, matches the default (or any include pattern, when includes are
 * given) and matches no exclude pattern. A 3-D tensor is blocked like a 2-D one whose rows are its
 * leading dimensions ({@code experts * out} rows of {@code in}): blocks run along the last dimension
 * of the row-major data.
 */
public record TensorSelection(List<String> include, List<String> exclude) implements Serializable {

  /** Linear weights inside transformer blocks: Llama, fused, MoE and BERT families. */
  public static final String DEFAULT_PATTERN =
      "(^|\\.)layers?\\.\\d+\\.(("
          + "self_attn\\.([qkvo]|qkv)_proj|mlp\\.(gate|up|down|gate_up)_proj"     // Llama family, fused (Phi-3)
          + "|self_attn\\.(q_a|q_b|kv_a|kv_b)_proj(_with_mqa)?"                     // DeepSeek MLA
          + "|mlp\\.experts\\.\\d+\\.(gate|up|down)_proj"                          // Qwen2-MoE, DeepSeek experts
          + "|mlp\\.shared_experts?\\.(gate|up|down)_proj"                          // shared experts
          + "|block_sparse_moe\\.experts\\.\\d+\\.w[123]"                           // Mixtral experts
          + "|attention\\.self\\.(query|key|value)|attention\\.output\\.dense"     // BERT family
          + "|intermediate\\.dense|output\\.dense"
          + ")\\.weight"
          + "|mlp\\.experts\\.(gate_up|gate|up|down)_proj(\\.weight)?"            // 3-D [experts, out, in]
          + ")$";

  /** Why the default keeps a tensor, by name, first match wins. */
  private static final List<Map.Entry<Pattern, String>> KEPT_BY_NAME = List.of(
      Map.entry(Pattern.compile("(^|\\.)(embed_tokens|embeddings|word_embeddings|position_embeddings"
          + "|token_type_embeddings|wte|wpe)(\\.|$)"), "embedding"),
      Map.entry(Pattern.compile("(^|\\.)(lm_head|embed_out)(\\.|$)"), "LM head"),
      Map.entry(Pattern.compile("(^|\\.)(block_sparse_moe\\.gate|mlp\\.gate|shared_expert_gate|router)"
          + "(\\.weight)?$"), "router"),
      Map.entry(Pattern.compile("(?i)(norm|ln_\\w*)(\\.weight|\\.bias)?$"), "norm"),
      Map.entry(Pattern.compile("\\.bias$"), "bias"));

  private static final Pattern DEFAULT = Pattern.compile(DEFAULT_PATTERN);
  private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:layers?|h|blocks)\\.(\\d+)\\.");

  public TensorSelection {
    include = List.copyOf(include);
    exclude = List.copyOf(exclude);
    for (String p : include) {
      compile(p, "include");
    }
    for (String p : exclude) {
      compile(p, "exclude");
    }
  }

  /** The default selection. */
  public static TensorSelection defaults() {
    return new TensorSelection(List.of(), List.of());
  }

  /** Whether {@code t} is quantized under this selection. */
  public boolean selects(TensorInfo t) {
    return keptReason(t) == null;
  }

  /**
   * Why {@code t} is not quantized, or null when it is: {@code "rank N"} (not a 2-D or 3-D tensor),
   * {@code "dtype D"} (not F32/F16/BF16), {@code "excluded by --exclude P"}, {@code "not matched by
   * --include"}, or, for the default selection, {@code "embedding"}, {@code "LM head"}, {@code "router"},
   * {@code "norm"}, {@code "bias"} or {@code "not matched by the selection"}.
   */
  public String keptReason(TensorInfo t) {
    String name = t.name();
    if (t.rank() != 2 && t.rank() != 3) {
      return "rank " + t.rank();
    }
    if (!t.dtype().isWeight()) {
      return "dtype " + t.dtype();
    }
    if (include.isEmpty() ? !DEFAULT.matcher(name).find()
        : include.stream().noneMatch(p -> Pattern.compile(p).matcher(name).find())) {
      if (!include.isEmpty()) {
        return "not matched by --include";
      }
      for (Map.Entry<Pattern, String> e : KEPT_BY_NAME) {
        if (e.getKey().matcher(name).find()) {
          return e.getValue();
        }
      }
      return "not matched by the selection";
    }
    for (String p : exclude) {
      if (Pattern.compile(p).matcher(name).find()) {
        return "excluded by --exclude " + p;
      }
    }
    return null;
  }

  /** The transformer block index of a tensor ({@code layers.N.} / {@code layer.N.}), or -1. */
  public static int layerOf(String name) {
    Matcher m = LAYER.matcher(name);
    return m.find() ? Integer.parseInt(m.group(1)) : -1;
  }

  /**
   * The kind of a tensor: {@code q, k, v, o, gate, up, down} for attention and MLP projections of
   * both families (BERT's intermediate dense is {@code up}, its output dense {@code down}, its
   * attention output dense {@code o}; Mixtral's expert {@code w1} is {@code gate}, {@code w3} {@code up},
   * {@code w2} {@code down}), {@code qkv} and {@code gate_up} for fused projections; otherwise the last
   * name component before {@code .weight}.
   */
  public static String kindOf(String name) {
    String n = name.endsWith(".weight") ? name.substring(0, name.length() - 7) : name;
    if (n.endsWith("qkv_proj")) {
      return "qkv";
    }
    if (n.endsWith("gate_up_proj")) {
      return "gate_up";
    }
    if (n.matches(".*\\.experts\\.\\d+\\.w[123]")) {
      return n.endsWith("w1") ? "gate" : n.endsWith("w3") ? "up" : "down";
    }
    if (n.endsWith("q_proj") || n.endsWith("attention.self.query")) {
      return "q";
    }
    if (n.endsWith("k_proj") || n.endsWith("attention.self.key")) {
      return "k";
    }
    if (n.endsWith("v_proj") || n.endsWith("attention.self.value")) {
      return "v";
    }
    if (n.endsWith("o_proj") || n.endsWith("attention.output.dense")) {
      return "o";
    }
    if (n.endsWith("gate_proj")) {
      return "gate";
    }
    if (n.endsWith("up_proj") || n.endsWith("intermediate.dense")) {
      return "up";
    }
    if (n.endsWith("down_proj") || n.endsWith("output.dense")) {
      return "down";
    }
    int dot = n.lastIndexOf('.');
    return dot < 0 ? n : n.substring(dot + 1);
  }

  private static void compile(String p, String what) {
    try {
      Pattern.compile(p);
    } catch (java.util.regex.PatternSyntaxException e) {
      throw new BadInputException(String.format(
          "Cannot use %s pattern \"%s\": not a valid regular expression (%s)", what, p, e.getDescription()));
    }
  }
}
