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

  private static int[] concat(int[] a, int[] b) {
    int[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }
}
