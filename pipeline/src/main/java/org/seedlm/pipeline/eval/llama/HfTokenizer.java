package org.seedlm.pipeline.eval.llama;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.run.RunDirectory;

/**
 * A model's {@code tokenizer.json} (Hugging Face format), run by Hugging Face's own Rust tokenizers through
 * DJL's binding: the reference implementation of the format (sentencepiece-style BPE with byte fallback,
 * byte-level BPE), so nothing of BPE is re-implemented here. Truncation is off. BOS/EOS are added as
 * {@code tokenizer_config.json} says ({@code add_bos_token}, default true unless {@code bos_token} is null;
 * {@code add_eos_token}, default false, as Hugging Face's Llama tokenizer), never by the tokenizer.json
 * post-processor.
 */
public final class HfTokenizer implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final int bos; // -1: none added
  private final int eos;

  private HfTokenizer(HuggingFaceTokenizer tokenizer, JsonNode config) {
    this.tokenizer = tokenizer;
    this.bos = addsBos(config) ? specialId(config, "bos_token", "<s>") : -1;
    this.eos = config.path("add_eos_token").asBoolean(false) ? specialId(config, "eos_token", "</s>") : -1;
  }

  /**
   * Whether BOS is added: {@code add_bos_token} when set (Llama 2, Mistral); else yes unless
   * {@code bos_token} is null (Qwen2 has none; Llama 3 names one and its post-processor adds it).
   */
  private static boolean addsBos(JsonNode config) {
    if (config.has("add_bos_token")) {
      return config.path("add_bos_token").asBoolean();
    }
    return !(config.has("bos_token") && config.get("bos_token").isNull());
  }

  /** DIR/tokenizer.json (+ DIR/tokenizer_config.json when present), from any Hadoop path. */
  public static HfTokenizer load(Configuration conf, Path modelDir) throws IOException {
    Path json = new Path(modelDir, "tokenizer.json");
    Path configJson = new Path(modelDir, "tokenizer_config.json");
    FileSystem fs = json.getFileSystem(conf);
    if (!fs.exists(json)) {
      throw new BadInputException("Cannot load the tokenizer of " + modelDir + ": " + json
          + " does not exist (a causal LM needs its Hugging Face tokenizer.json beside config.json)");
    }
    JsonNode config = RunDirectory.json().createObjectNode();
    if (fs.exists(configJson)) {
      try (InputStream in = fs.open(configJson)) {
        config = RunDirectory.json().readTree(in);
      }
    }
    java.nio.file.Path local = Files.createTempFile("seedlm-tokenizer", ".json");
    try {
      try (InputStream in = fs.open(json)) {
        Files.copy(in, local, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      HuggingFaceTokenizer tok;
      try {
        tok = HuggingFaceTokenizer.newInstance(local, Map.of("truncation", "false", "padding", "false",
            "addSpecialTokens", "false"));
      } catch (RuntimeException e) {
        throw new BadInputException("Cannot load " + json + ": " + e.getMessage()
            + " (it must be a Hugging Face tokenizer.json)", e);
      }
      return new HfTokenizer(tok, config);
    } finally {
      Files.deleteIfExists(local);
    }
  }

  /** The text's ids with BOS/EOS as tokenizer_config.json says. */
  public int[] encode(String text) {
    int[] body = encodeNoSpecial(text);
    int n = body.length + (bos >= 0 ? 1 : 0) + (eos >= 0 ? 1 : 0);
    int[] ids = new int[n];
    int at = 0;
    if (bos >= 0) {
      ids[at++] = bos;
    }
    System.arraycopy(body, 0, ids, at, body.length);
    if (eos >= 0) {
      ids[n - 1] = eos;
    }
    return ids;
  }

  /** The text's ids without BOS/EOS (a continuation). */
  public int[] encodeNoSpecial(String text) {
    long[] ids = tokenizer.encode(text, false, false).getIds();
    return Arrays.stream(ids).mapToInt(Math::toIntExact).toArray();
  }

  /** The text of the ids, special tokens skipped. */
  public String decode(int[] ids) {
    return tokenizer.decode(Arrays.stream(ids).asLongStream().toArray(), true);
  }

  /** Text of a sequence that grows one token at a time, handed out as soon as it is complete. */
  public final class Stream {
    private final int[] prompt;
    private final java.util.List<Integer> added = new java.util.ArrayList<>();
    private int emitted;

    private Stream(int[] prompt) {
      this.prompt = prompt.clone();
      this.emitted = decode(prompt).length();
    }

    /** The new text that token {@code id} completes ("" while a multi-byte character is unfinished). */
    public String next(int id) {
      added.add(id);
      int[] all = Arrays.copyOf(prompt, prompt.length + added.size());
      for (int i = 0; i < added.size(); i++) {
        all[prompt.length + i] = added.get(i);
      }
      String text = decode(all);
      if (text.endsWith("\uFFFD") || text.length() <= emitted) {
        return ""; // a byte-fallback character still waiting for its next bytes
      }
      String out = text.substring(emitted);
      emitted = text.length();
      return out;
    }
  }

  /** Incremental decoding of the tokens generated after {@code prompt} (decoding whole prefixes, so spaces
   *  and byte-fallback characters come out exactly as in {@link #decode}). */
  public Stream stream(int[] prompt) {
    return new Stream(prompt);
  }

  private int specialId(JsonNode config, String key, String fallback) {
    JsonNode node = config.path(key);
    String token = node.isTextual() ? node.asText() : node.path("content").asText(fallback);
    int[] ids = encodeNoSpecial(token);
    if (ids.length != 1) {
      throw new BadInputException("Cannot use " + key + " '" + token + "' of tokenizer_config.json: it is not one"
          + " token of tokenizer.json (" + ids.length + " ids); fix " + key + " or set add_"
          + key.replace("_token", "") + "_token false");
    }
    return ids[0];
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
