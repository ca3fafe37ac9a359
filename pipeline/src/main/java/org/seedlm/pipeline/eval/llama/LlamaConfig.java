package org.seedlm.pipeline.eval.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * The parsed {@code config.json} of a Llama-family causal LM ({@code model_type} llama, mistral or
 * qwen2): sizes, RMSNorm epsilon, RoPE (theta, head_dim, {@code rope_scaling} none / linear /
 * llama3), bias flags, tied head, special token ids and the Mistral sliding window.
 */
public final class LlamaConfig {
  /** The model types this package evaluates. */
  public static final Set<String> SUPPORTED = Set.of("llama", "mistral", "qwen2");

  private static final ObjectMapper JSON = new ObjectMapper();

  /** {@code rope_scaling}: type "none", "linear" or "llama3" and its parameters. */
  public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
      int originalMaxPositions) {
    static final RopeScaling NONE = new RopeScaling("none", 1, 0, 0, 0);
  }

  private final String modelType;
  private final int hiddenSize;
  private final int intermediateSize;
  private final int numLayers;
  private final int numHeads;
  private final int numKvHeads;
  private final int headDim;
  private final double rmsNormEps;
  private final double ropeTheta;
  private final RopeScaling ropeScaling;
  private final Boolean attentionBias; // null when absent
  private final boolean mlpBias;
  private final boolean tieWordEmbeddings;
  private final int vocabSize;
  private final int maxPositions;
  private final int bosTokenId;
  private final int eosTokenId;
  private final int slidingWindow; // 0 = none

  private LlamaConfig(String label, JsonNode c) {
    modelType = c.path("model_type").asText("");
    if (!SUPPORTED.contains(modelType)) {
      throw new BadInputException("cannot evaluate model_type " + (modelType.isEmpty() ? "(none)" : modelType)
          + " (" + label + "): supported are llama, mistral, qwen2");
    }
    hiddenSize = positive(label, c, "hidden_size", -1);
    intermediateSize = positive(label, c, "intermediate_size", -1);
    numLayers = positive(label, c, "num_hidden_layers", -1);
    numHeads = positive(label, c, "num_attention_heads", -1);
    numKvHeads = positive(label, c, "num_key_value_heads", numHeads);
    headDim = positive(label, c, "head_dim", hiddenSize / numHeads);
    if (numHeads % numKvHeads != 0) {
      throw new BadInputException("cannot evaluate " + label + ": num_attention_heads " + numHeads
          + " is not a multiple of num_key_value_heads " + numKvHeads);
    }
    if (headDim % 2 != 0) {
      throw new BadInputException("cannot evaluate " + label + ": head_dim " + headDim
          + " is odd (rotate-half RoPE needs an even head_dim)");
    }
    rmsNormEps = c.path("rms_norm_eps").asDouble(1e-6);
    ropeTheta = c.path("rope_theta").asDouble(10000.0);
    ropeScaling = ropeScaling(label, c.get("rope_scaling"));
    JsonNode ab = c.get("attention_bias");
    attentionBias = ab == null || ab.isNull() ? null : ab.asBoolean();
    mlpBias = c.path("mlp_bias").asBoolean(false);
    tieWordEmbeddings = c.path("tie_word_embeddings").asBoolean(false);
    vocabSize = positive(label, c, "vocab_size", -1);
    maxPositions = positive(label, c, "max_position_embeddings", 2048);
    bosTokenId = tokenId(c.get("bos_token_id"));
    eosTokenId = tokenId(c.get("eos_token_id"));
    JsonNode sw = c.get("sliding_window");
    boolean useSw = !"qwen2".equals(modelType) || c.path("use_sliding_window").asBoolean(false);
    slidingWindow = useSw && sw != null && sw.isNumber() && sw.asInt() > 0 ? sw.asInt() : 0;
  }

  /** Reads {@code modelDir/config.json}; an unsupported model_type or a missing size is a {@link BadInputException}. */
  public static LlamaConfig read(Configuration conf, Path modelDir) throws IOException {
    Path p = new Path(modelDir, Checkpoint.CONFIG_NAME);
    return new LlamaConfig("config.json in " + modelDir, readJson(conf, p));
  }

  /** Parses a config given as JSON (for tests and generated models). */
  static LlamaConfig parse(String label, JsonNode config) {
    return new LlamaConfig(label, config);
  }

  /** True when DIR/config.json names a causal LM family this package evaluates (model_type llama/mistral/qwen2, or architectures *ForCausalLM). */
  public static boolean isCausalLm(Configuration conf, Path modelDir) throws IOException {
    Path p = new Path(modelDir, Checkpoint.CONFIG_NAME);
    if (!p.getFileSystem(conf).exists(p)) {
      return false;
    }
    JsonNode c = readJson(conf, p);
    if (SUPPORTED.contains(c.path("model_type").asText(""))) {
      return true;
    }
    for (JsonNode a : c.path("architectures")) {
      if (a.asText("").endsWith("ForCausalLM")) {
        return true;
      }
    }
    return false;
  }

  /** DIR/config.json as a JSON object; a missing or malformed file is a {@link BadInputException}. */
  public static JsonNode configJson(Configuration conf, Path modelDir) throws IOException {
    return readJson(conf, new Path(modelDir, Checkpoint.CONFIG_NAME));
  }

  private static JsonNode readJson(Configuration conf, Path p) throws IOException {
    FileSystem fs = p.getFileSystem(conf);
    try (InputStream in = fs.open(p)) {
      JsonNode c = JSON.readTree(in);
      if (c == null || !c.isObject()) {
        throw new BadInputException("cannot read " + p + ": not a JSON object (fix or re-download config.json)");
      }
      return c;
    } catch (FileNotFoundException e) {
      throw new BadInputException("cannot read " + p + ": no such file (a Hugging Face model directory"
          + " needs config.json)", e);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new BadInputException("cannot read " + p + ": malformed JSON (" + e.getOriginalMessage() + ")", e);
    }
  }

  private static int positive(String label, JsonNode c, String key, int dflt) {
    JsonNode v = c.get(key);
    if (v == null || v.isNull()) {
      if (dflt > 0) {
        return dflt;
      }
      throw new BadInputException("cannot evaluate " + label + ": " + key + " is missing");
    }
    if (!v.canConvertToInt() || v.asInt() <= 0) {
      throw new BadInputException("cannot evaluate " + label + ": " + key + " is " + v + ", not a positive integer");
    }
    return v.asInt();
  }

  private static int tokenId(JsonNode v) {
    if (v != null && v.isArray()) {
      v = v.size() > 0 ? v.get(0) : null;
    }
    return v != null && v.canConvertToInt() ? v.asInt() : -1;
  }

  private static RopeScaling ropeScaling(String label, JsonNode s) {
    if (s == null || s.isNull()) {
      return RopeScaling.NONE;
    }
    String type = s.path("rope_type").asText(s.path("type").asText(""));
    double factor = s.path("factor").asDouble(1.0);
    switch (type) {
      case "default":
        return RopeScaling.NONE;
      case "linear":
        return new RopeScaling("linear", factor, 0, 0, 0);
      case "llama3":
        double low = s.path("low_freq_factor").asDouble(1.0);
        double high = s.path("high_freq_factor").asDouble(4.0);
        int orig = s.path("original_max_position_embeddings").asInt(8192);
        if (high <= low) {
          throw new BadInputException("cannot evaluate " + label + ": rope_scaling llama3 needs high_freq_factor > "
              + "low_freq_factor (got " + high + " and " + low + ")");
        }
        return new RopeScaling("llama3", factor, low, high, orig);
      default:
        throw new BadInputException("cannot evaluate " + label + ": rope_scaling type '" + type
            + "' is not supported (supported: none, linear, llama3)");
    }
  }

  public String modelType() {
    return modelType;
  }

  public int vocabSize() {
    return vocabSize;
  }

  public int numLayers() {
    return numLayers;
  }

  public int hiddenSize() {
    return hiddenSize;
  }

  public int maxPositions() {
    return maxPositions;
  }

  public int bosTokenId() {
    return bosTokenId;
  }

  /** The first EOS id when config.json lists several; -1 when absent. */
  public int eosTokenId() {
    return eosTokenId;
  }

  public int intermediateSize() {
    return intermediateSize;
  }

  public int numHeads() {
    return numHeads;
  }

  public int numKvHeads() {
    return numKvHeads;
  }

  public int headDim() {
    return headDim;
  }

  public double rmsNormEps() {
    return rmsNormEps;
  }

  public double ropeTheta() {
    return ropeTheta;
  }

  public RopeScaling ropeScaling() {
    return ropeScaling;
  }

  /** config.json's attention_bias, or null when it has none (Qwen2: biases are decided by the tensors). */
  public Boolean attentionBias() {
    return attentionBias;
  }

  public boolean mlpBias() {
    return mlpBias;
  }

  public boolean tieWordEmbeddings() {
    return tieWordEmbeddings;
  }

  /** Mistral's sliding attention window in positions, 0 when there is none. */
  public int slidingWindow() {
    return slidingWindow;
  }

  /**
   * RoPE inverse frequencies (length head_dim/2): {@code theta^(-2i/d)}, divided by the factor for
   * linear scaling, or rescaled per wavelength band for llama3 scaling (as Hugging Face does).
   */
  public float[] inverseFrequencies() {
    int half = headDim / 2;
    float[] inv = new float[half];
    RopeScaling s = ropeScaling;
    for (int i = 0; i < half; i++) {
      double f = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
      if (s.type().equals("linear")) {
        f /= s.factor();
      } else if (s.type().equals("llama3")) {
        double lowWavelen = s.originalMaxPositions() / s.lowFreqFactor();
        double highWavelen = s.originalMaxPositions() / s.highFreqFactor();
        double wavelen = 2 * Math.PI / f;
        if (wavelen > lowWavelen) {
          f /= s.factor();
        } else if (wavelen >= highWavelen) {
          double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor())
              / (s.highFreqFactor() - s.lowFreqFactor());
          f = (1 - smooth) * f / s.factor() + smooth * f;
        }
      }
      inv[i] = (float) f;
    }
    return inv;
  }
}
