package org.seedlm.pipeline.eval;

import org.seedlm.pipeline.BadInputException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;

/**
 * BERT's uncased WordPiece tokenizer: text clean-up, CJK characters split out, lower-casing, accents
 * stripped (NFD, combining marks dropped), punctuation split off, then greedy longest-match-first
 * WordPiece with {@code ##} continuations; a word with no segmentation (or longer than 100 characters)
 * becomes {@code [UNK]}. The special tokens {@code [MASK] [CLS] [SEP] [PAD] [UNK]} written literally in
 * the text are kept whole.
 */
public final class WordPieceTokenizer {
  public static final String CLS = "[CLS]";
  public static final String SEP = "[SEP]";
  public static final String MASK = "[MASK]";
  public static final String UNK = "[UNK]";
  public static final String PAD = "[PAD]";
  private static final String[] SPECIALS = {MASK, CLS, SEP, PAD, UNK};
  private static final int MAX_WORD_CHARS = 100;

  private final List<String> vocab;
  private final Map<String, Integer> ids;

  public WordPieceTokenizer(List<String> vocab) {
    this.vocab = List.copyOf(vocab);
    this.ids = new HashMap<>(vocab.size() * 2);
    for (int i = 0; i < vocab.size(); i++) {
      ids.putIfAbsent(vocab.get(i), i);
    }
    for (String s : SPECIALS) {
      if (!ids.containsKey(s)) {
        throw new BadInputException("vocab.txt lacks the special token " + s + " (not a BERT WordPiece vocabulary)");
      }
    }
  }

  /** Reads {@code vocab.txt} (one token per line, UTF-8; line number = id). */
  public static WordPieceTokenizer load(Path vocabFile, Configuration conf) throws IOException {
    List<String> v = new ArrayList<>();
    try (FSDataInputStream in = vocabFile.getFileSystem(conf).open(vocabFile);
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        v.add(line.strip());
      }
    }
    return new WordPieceTokenizer(v);
  }

  public int vocabSize() {
    return vocab.size();
  }

  /** The id of a token, or -1. */
  public int id(String token) {
    Integer i = ids.get(token);
    return i == null ? -1 : i;
  }

  public String token(int id) {
    return vocab.get(id);
  }

  public int maskId() {
    return ids.get(MASK);
  }

  /** WordPiece tokens of the text (without {@code [CLS]}/{@code [SEP]}). */
  public List<String> tokenize(String text) {
    List<String> out = new ArrayList<>();
    int start = 0;
    while (start <= text.length()) {
      int best = -1;
      String bestTok = null;
      for (String s : SPECIALS) {
        int i = text.indexOf(s, start);
        if (i >= 0 && (best < 0 || i < best)) {
          best = i;
          bestTok = s;
        }
      }
      int end = best < 0 ? text.length() : best;
      for (String word : basic(text.substring(start, end))) {
        wordPiece(word, out);
      }
      if (best < 0) {
        break;
      }
      out.add(bestTok);
      start = best + bestTok.length();
    }
    return out;
  }

  /** Token ids of {@code [CLS] text [SEP]}. */
  public int[] encode(String text) {
    List<String> toks = tokenize(text);
    int[] r = new int[toks.size() + 2];
    r[0] = ids.get(CLS);
    for (int i = 0; i < toks.size(); i++) {
      r[i + 1] = ids.get(toks.get(i));
    }
    r[r.length - 1] = ids.get(SEP);
    return r;
  }

  /** The id of the word when it is a single WordPiece token, else -1. */
  public int singleTokenId(String word) {
    List<String> t = tokenize(word);
    return t.size() == 1 && !t.get(0).equals(UNK) ? ids.get(t.get(0)) : -1;
  }

  // ------------------------------------------------------------------ basic tokenizer

  static List<String> basic(String text) {
    StringBuilder clean = new StringBuilder(text.length() + 16);
    text.codePoints().forEach(cp -> {
      if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
        return;
      }
      if (isWhitespace(cp)) {
        clean.append(' ');
      } else if (isCjk(cp)) {
        clean.append(' ').appendCodePoint(cp).append(' ');
      } else {
        clean.appendCodePoint(cp);
      }
    });
    List<String> words = new ArrayList<>();
    for (String w : clean.toString().trim().split(" +")) {
      if (w.isEmpty()) {
        continue;
      }
      String lower = stripAccents(w.toLowerCase(java.util.Locale.ROOT));
      StringBuilder cur = new StringBuilder();
      int i = 0;
      while (i < lower.length()) {
        int cp = lower.codePointAt(i);
        i += Character.charCount(cp);
        if (isPunctuation(cp)) {
          if (cur.length() > 0) {
            words.add(cur.toString());
            cur.setLength(0);
          }
          words.add(new String(Character.toChars(cp)));
        } else {
          cur.appendCodePoint(cp);
        }
      }
      if (cur.length() > 0) {
        words.add(cur.toString());
      }
    }
    return words;
  }

  private static String stripAccents(String s) {
    String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
    StringBuilder b = new StringBuilder(nfd.length());
    nfd.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK).forEach(b::appendCodePoint);
    return b.toString();
  }

  private static boolean isWhitespace(int cp) {
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
  }

  private static boolean isControl(int cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') {
      return false;
    }
    int t = Character.getType(cp);
    return t == Character.CONTROL || t == Character.FORMAT;
  }

  static boolean isPunctuation(int cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
      return true;
    }
    switch (Character.getType(cp)) {
      case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
          Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
          Character.OTHER_PUNCTUATION:
        return true;
      default:
        return false;
    }
  }

  private static boolean isCjk(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  // ------------------------------------------------------------------ WordPiece

  private void wordPiece(String word, List<String> out) {
    if (word.codePointCount(0, word.length()) > MAX_WORD_CHARS) {
      out.add(UNK);
      return;
    }
    List<String> pieces = new ArrayList<>();
    int start = 0;
    while (start < word.length()) {
      int end = word.length();
      String found = null;
      while (start < end) {
        String sub = (start > 0 ? "##" : "") + word.substring(start, end);
        if (ids.containsKey(sub)) {
          found = sub;
          break;
        }
        end = word.offsetByCodePoints(end, -1);
      }
      if (found == null) {
        out.add(UNK);
        return;
      }
      pieces.add(found);
      start = end;
    }
    out.addAll(pieces);
  }
}
