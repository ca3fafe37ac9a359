package org.seedlm.pipeline.eval;

import java.io.IOException;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.eval.llama.LlamaConfig;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * The model families that {@code eval}, {@code verify --eval} and {@code report} evaluate, told apart by
 * {@code config.json}. A new family goes here, with its forward pass and tasks in a package of its own.
 */
public enum ModelFamily {
  /** BERT masked LM: WordPiece {@code vocab.txt}; cloze and MLM pseudo-perplexity ({@link Evaluator}). */
  BERT,
  /** Llama-family causal LM ({@link LlamaConfig#SUPPORTED}): {@code tokenizer.json}; the causal tasks. */
  LLAMA;

  /**
   * The family of the model in {@code modelDir}: no config.json or {@code model_type} bert is BERT; a
   * Llama-family type (or a {@code *ForCausalLM} architecture, which {@link LlamaConfig#read} then checks) is
   * LLAMA; any other {@code model_type} is a {@link BadInputException} naming it.
   */
  public static ModelFamily of(Configuration conf, Path modelDir) throws IOException {
    Path config = new Path(modelDir, Checkpoint.CONFIG_NAME);
    if (!config.getFileSystem(conf).exists(config)) {
      return BERT;
    }
    if (LlamaConfig.isCausalLm(conf, modelDir)) {
      return LLAMA;
    }
    String type = LlamaConfig.configJson(conf, modelDir).path("model_type").asText("");
    if (type.isEmpty() || type.equals("bert")) {
      return BERT;
    }
    throw new BadInputException("cannot evaluate model_type " + type + " (" + config + "): supported are bert, "
        + String.join(", ", new TreeSet<>(LlamaConfig.SUPPORTED)));
  }
}
