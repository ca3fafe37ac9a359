package org.seedlm.pipeline.run;

import org.seedlm.pipeline.BadInputException;
import java.io.Serializable;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.seedlm.pipeline.safetensors.TensorInfo;

/**
 * Which tensors of a checkpoint are quantized, and how each is classified (layer index, kind).
 *
 * <p>Default (SPEC §6): every 2-D weight of a linear layer inside the transformer blocks, for the
 * Llama family ({@code q/k/v/o/gate/up/down_proj}) and the BERT family (attention
 * query/key/value/output dense, intermediate dense, output dense). Embeddings, the LM head, norms
 * and biases are kept. Users narrow or widen this with include and exclude regular expressions,
 * matched with {@link Matcher#find()} against the tensor name: a tensor is selected when it is a
 * 2-D float weight, matches the default (or any include pattern, when includes are given) and
 * matches no exclude pattern.
 */
public record TensorSelection(List<String> include, List<String> exclude) implements Serializable {

  /** Linear weights inside transformer blocks, Llama and BERT families. */
  public static final String DEFAULT_PATTERN =
      "(^|\\.)layers?\\.\\d+\\.("
          + "self_attn\\.[qkvo]_proj|mlp\\.(gate|up|down)_proj"                  // Llama family
          + "|attention\\.self\\.(query|key|value)|attention\\.output\\.dense"   // BERT family
          + "|intermediate\\.dense|output\\.dense"
          + ")\\.weight$";

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
    if (t.rank() != 2 || !t.dtype().isWeight()) {
      return false;
    }
    String name = t.name();
    boolean in = include.isEmpty()
        ? DEFAULT.matcher(name).find()
        : include.stream().anyMatch(p -> Pattern.compile(p).matcher(name).find());
    return in && exclude.stream().noneMatch(p -> Pattern.compile(p).matcher(name).find());
  }

  /** The transformer block index of a tensor ({@code layers.N.} / {@code layer.N.}), or -1. */
  public static int layerOf(String name) {
    Matcher m = LAYER.matcher(name);
    return m.find() ? Integer.parseInt(m.group(1)) : -1;
  }

  /**
   * The kind of a tensor: {@code q, k, v, o, gate, up, down} for attention and MLP projections of
   * both families (BERT's intermediate dense is {@code up}, its output dense {@code down}, its
   * attention output dense {@code o}); otherwise the last name component before {@code .weight}.
   */
  public static String kindOf(String name) {
    String n = name.endsWith(".weight") ? name.substring(0, name.length() - 7) : name;
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
