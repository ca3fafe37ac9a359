package org.seedlm.pipeline.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class WordPieceTokenizerTest {

  private static WordPieceTokenizer tiny() {
    return new WordPieceTokenizer(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able",
        "runn", "##ing", "run", ",", ".", "!", "cafe", "the", "want", "##ed", "wa", "'", "s"));
  }

  @Test
  void greedyLongestMatchFirst() {
    WordPieceTokenizer t = tiny();
    assertEquals(List.of("un", "##aff", "##able", ",", "runn", "##ing", "!"), t.tokenize("UNaffable, running!"));
    assertEquals(List.of("want", "##ed", "[UNK]"), t.tokenize("wanted wantXYZ"));
    assertEquals(List.of("[UNK]"), t.tokenize("x".repeat(101)));
  }

  @Test
  void lowerCasesStripsAccentsAndCleans() {
    WordPieceTokenizer t = tiny();
    assertEquals(List.of("cafe", "the"), t.tokenize("  Café\u0000\tTHE\u200b "));
    assertEquals(List.of("run", "'", "s", "."), t.tokenize("run's."));
  }

  @Test
  void specialTokensKeptWhole() {
    WordPieceTokenizer t = tiny();
    assertEquals(List.of("the", "[MASK]", "."), t.tokenize("The[MASK]."));
    assertArrayEquals(new int[] {2, 15, 4, 12, 3}, t.encode("the [MASK] ."));
  }

  @Test
  void bertVocabularyGoldens() throws Exception {
    WordPieceTokenizer t = TestModels.tokenizer();
    assertEquals(30522, t.vocabSize());
    assertEquals(List.of("the", "capital", "of", "france", "is", "[MASK]", "."),
        t.tokenize("The capital of France is [MASK]."));
    assertEquals(List.of("una", "##ffa", "##ble"), t.tokenize("unaffable"));
    assertEquals(List.of("the", "[UNK]", "cat"), t.tokenize("the snow\u2603 cat"));
    assertEquals(List.of("naive", "cafe", "-", "go", "##ers", "don", "'", "t", "tip", "!"),
        t.tokenize("Naïve café-goers don't tip!"));
    assertArrayEquals(new int[] {101, 7592, 1010, 2088, 999, 102}, t.encode("Hello, world!"));
    assertEquals(103, t.maskId());
    assertEquals(-1, t.singleTokenId("unaffable"));
    assertEquals(2003, t.singleTokenId("is"));
  }
}
