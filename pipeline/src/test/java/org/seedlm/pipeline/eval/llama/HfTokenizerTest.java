package org.seedlm.pipeline.eval.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** HfTokenizer against the token ids of ../shared/models/stories260K/GOLDEN.md (computed by llama2.c and numpy). */
class HfTokenizerTest {
  /** ../shared/models/stories260K of the repository (tests run in a module directory below it). */
  static final java.nio.file.Path STORIES = java.nio.file.Path.of("").toAbsolutePath().getParent()
      .resolve("../shared/models/stories260K").normalize();

  /** A GOLDEN.md prompt: its text, its ids (BOS first), its greedy continuation and the whole text decoded. */
  record Golden(String text, int[] ids, int[] greedy, String whole) {}

  static List<Golden> golden() throws IOException {
    Assumptions.assumeTrue(Files.exists(STORIES.resolve("GOLDEN.md")),
        "../shared/models/stories260K is absent: skipping the tests on the real Llama checkpoint");
    String md = Files.readString(STORIES.resolve("GOLDEN.md"));
    List<Golden> out = new ArrayList<>();
    Matcher m = Pattern.compile("Text: `\"(.*)\"`\\s+Token ids[^\\n]*\\n+```\\n\\[([^\\]]*)\\]"
        + "(?s:.*?)Greedy continuation[^\\n]*\\n+```\\n\\[([^\\]]*)\\]"
        + "(?s:.*?)Whole sequence decoded[^\\n]*: `\"(.*)\"`").matcher(md);
    while (m.find()) {
      out.add(new Golden(m.group(1), ids(m.group(2)), ids(m.group(3)), m.group(4)));
    }
    return out;
  }

  private static int[] ids(String list) {
    return Arrays.stream(list.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
  }

  static HfTokenizer stories() throws IOException {
    Assumptions.assumeTrue(Files.exists(STORIES.resolve("tokenizer.json")),
        "../shared/models/stories260K is absent: skipping the tests on the real Llama checkpoint");
    return HfTokenizer.load(new Configuration(), new Path(STORIES.toAbsolutePath().toString()));
  }

  @Test
  void everyGoldenPromptEncodesToItsIdsAndDecodesBack() throws IOException {
    List<Golden> prompts = golden();
    assertEquals(2, prompts.size(), "GOLDEN.md prompts found");
    try (HfTokenizer tok = stories()) {
      for (Golden g : prompts) {
        assertArrayEquals(g.ids(), tok.encode(g.text()), g.text());
        assertArrayEquals(Arrays.copyOfRange(g.ids(), 1, g.ids().length), tok.encodeNoSpecial(g.text()), g.text());
        assertEquals(g.text(), tok.decode(g.ids()));
        int[] whole = concat(g.ids(), g.greedy());
        assertEquals(g.whole(), tok.decode(whole));
      }
    }
  }

  @Test
  void streamingHandsOutExactlyTheDecodedText() throws IOException {
    try (HfTokenizer tok = stories()) {
      for (Golden g : golden()) {
        HfTokenizer.Stream stream = tok.stream(g.ids());
        StringBuilder printed = new StringBuilder(g.text());
        for (int id : g.greedy()) {
          printed.append(stream.next(id));
        }
        assertEquals(g.whole(), printed.toString());
      }
      // a character spelled by byte fallback (two byte tokens) comes out once, whole
      int[] eAcute = tok.encodeNoSpecial("é");
      HfTokenizer.Stream stream = tok.stream(new int[] {1});
      StringBuilder out = new StringBuilder();
      for (int id : eAcute) {
        out.append(stream.next(id));
      }
      assertEquals("é", out.toString().strip());
      assertFalse(out.toString().contains("\uFFFD"));
    }
  }

  /**
   * A byte-level BPE tokenizer.json as Llama 3 and Qwen2 use (GPT-2's byte-to-character map: a space is
   * {@code Ġ} U+0120, byte 0xC3 is {@code Ã}, 0xA9 is {@code ©}), written here with five merges, so the ids
   * below follow from the BPE rule by hand: {@code "hello"} merges h+e, l+l, he+ll, hell+o into one token;
   * {@code " hello"} then Ġ+hello; {@code " hole"} has no merge and stays five byte tokens; {@code "é"} is the
   * two byte tokens of its UTF-8 bytes C3 A9.
   */
  static final String BYTE_LEVEL = """
      {"version": "1.0", "truncation": null, "padding": null,
       "added_tokens": [{"id": 12, "content": "<|begin_of_text|>", "single_word": false, "lstrip": false,
                         "rstrip": false, "normalized": false, "special": true}],
       "normalizer": null,
       "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
       "post_processor": null,
       "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
       "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                 "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                 "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "\u0120": 4, "he": 5, "ll": 6, "hell": 7, "hello": 8,
                           "\u0120hello": 9, "\u00c3": 10, "\u00a9": 11, "<|begin_of_text|>": 12},
                 "merges": ["h e", "l l", "he ll", "hell o", "\u0120 hello"]}}
      """;

  static HfTokenizer byteLevel(java.nio.file.Path dir, String tokenizerConfig) throws IOException {
    Files.writeString(dir.resolve("tokenizer.json"), BYTE_LEVEL);
    if (tokenizerConfig != null) {
      Files.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfig);
    }
    return HfTokenizer.load(new Configuration(), new Path(dir.toAbsolutePath().toString()));
  }

  @Test
  void byteLevelBpeAsLlama3(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws IOException {
    // Llama 3: bos_token named, no add_bos_token key (its post-processor adds BOS): BOS first
    try (HfTokenizer tok = byteLevel(tmp, "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": null}")) {
      assertArrayEquals(new int[] {12, 8, 9, 4, 0, 3, 2, 1}, tok.encode("hello hello hole"));
      assertArrayEquals(new int[] {0, 10, 11}, tok.encodeNoSpecial("hé"));
      assertEquals("hello hello hole", tok.decode(new int[] {12, 8, 9, 4, 0, 3, 2, 1}));
      HfTokenizer.Stream stream = tok.stream(new int[] {12, 0});
      assertEquals("", stream.next(10)); // the first byte of é alone is no character yet
      assertEquals("é", stream.next(11));
    }
  }

  @Test
  void byteLevelBpeAsQwen2HasNoBos(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws IOException {
    try (HfTokenizer tok = byteLevel(tmp, "{\"bos_token\": null, \"eos_token\": \"<|begin_of_text|>\"}")) {
      assertArrayEquals(new int[] {8, 9}, tok.encode("hello hello"));
    }
  }

  private static int[] concat(int[] a, int[] b) {
    int[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }
}
