package org.seedlm.pipeline.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.Path;

/**
 * A minimal consistency check of a model's {@code config.json} against its tensor shapes, for
 * BERT- and Llama-style names. It catches a config that does not belong to the weights (for example
 * {@code hidden_size} 1024 next to 768-wide weights) before any work starts. Only keys present in
 * the config as integers are checked, and only against tensors whose names identify their role:
 *
 * <ul>
 *   <li>{@code hidden_size}: the second dimension of the word embedding ({@code
 *       word_embeddings.weight}, {@code embed_tokens.weight}) and of the attention query/key/value
 *       and q/k/v projections, and the first dimension of the BERT attention output dense;</li>
 *   <li>{@code vocab_size}: the first dimension of the word embedding;</li>
 *   <li>{@code intermediate_size}: the first dimension of BERT's {@code intermediate.dense.weight}
 *       and of Llama's {@code mlp.gate_proj}/{@code mlp.up_proj}, the second of {@code mlp.down_proj};</li>
 *   <li>{@code num_hidden_layers}: no tensor may belong to a layer index at or beyond it.</li>
 * </ul>
 *
 * A model without {@code config.json}, or a config without these keys, passes.
 */
public final class ConfigCheck {
  private ConfigCheck() {}

  private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:layer|layers)\\.(\\d+)\\.");

  /** Checks the checkpoint's config.json (if any) against its tensors. */
  public static void check(Checkpoint ckpt) throws IOException {
    JsonNode config = ckpt.config();
    if (config.isEmpty()) {
      return;
    }
    Path configPath = new Path(ckpt.modelDirectory(), Checkpoint.CONFIG_NAME);
    Map<String, TensorInfo> infos = new java.util.TreeMap<>();
    ckpt.tensors().forEach((name, t) -> infos.put(name, t.info()));
    check(configPath.toString(), config, infos);
  }

  /**
   * Checks {@code config} (read from {@code configLabel}) against {@code tensors}.
   *
   * @throws CheckpointException naming config.json, the key, the tensor and its shape
   */
  public static void check(String configLabel, JsonNode config, Map<String, TensorInfo> tensors)
      throws CheckpointException {
    Integer hidden = intKey(config, "hidden_size");
    Integer vocab = intKey(config, "vocab_size");
    Integer inter = intKey(config, "intermediate_size");
    Integer layers = intKey(config, "num_hidden_layers");
    for (TensorInfo t : tensors.values()) {
      String n = t.name();
      long[] s = t.shape();
      if (n.endsWith("word_embeddings.weight") || n.endsWith("embed_tokens.weight")) {
        expect(configLabel, "hidden_size", hidden, t, s, 1);
        expect(configLabel, "vocab_size", vocab, t, s, 0);
      } else if (n.matches(".*attention\\.self\\.(query|key|value)\\.weight")
          || n.matches(".*self_attn\\.q_proj\\.weight")) {
        expect(configLabel, "hidden_size", hidden, t, s, 1);
      } else if (n.matches(".*attention\\.output\\.dense\\.weight")) {
        expect(configLabel, "hidden_size", hidden, t, s, 0);
        expect(configLabel, "hidden_size", hidden, t, s, 1);
      } else if (n.endsWith("intermediate.dense.weight") || n.endsWith("mlp.gate_proj.weight")
          || n.endsWith("mlp.up_proj.weight")) {
        expect(configLabel, "intermediate_size", inter, t, s, 0);
        expect(configLabel, "hidden_size", hidden, t, s, 1);
      } else if (n.endsWith("mlp.down_proj.weight")) {
        expect(configLabel, "hidden_size", hidden, t, s, 0);
        expect(configLabel, "intermediate_size", inter, t, s, 1);
      }
      if (layers != null) {
        Matcher m = LAYER.matcher(n);
        if (m.find()) {
          long idx = Long.parseLong(m.group(1));
          if (idx >= layers) {
            throw CheckpointException.file(configLabel, "num_hidden_layers is " + layers + " but tensor '" + n
                + "' belongs to layer " + idx + " (config.json does not match the weights; use the model's own"
                + " config.json)");
          }
        }
      }
    }
  }

  private static void expect(String configLabel, String key, Integer want, TensorInfo t, long[] shape, int dim)
      throws CheckpointException {
    if (want == null || shape.length != 2) {
      return;
    }
    if (shape[dim] != want) {
      throw CheckpointException.file(configLabel, key + " is " + want + " but tensor '" + t.name() + "' has shape "
          + Arrays.toString(shape) + " (dimension " + dim + " should be " + want + "; config.json does not match"
          + " the weights; use the model's own config.json)");
    }
  }

  private static Integer intKey(JsonNode config, String key) {
    JsonNode v = config.get(key);
    return v != null && v.canConvertToInt() && v.isIntegralNumber() ? v.intValue() : null;
  }
}
