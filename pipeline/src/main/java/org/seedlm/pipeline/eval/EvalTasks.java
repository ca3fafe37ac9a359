package org.seedlm.pipeline.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.seedlm.pipeline.eval.BrownCorpus.Sentence;
import org.seedlm.pipeline.eval.BrownCorpus.Token;

/**
 * Zero-shot items built deterministically from the Brown corpus (same corpus, tokenizer, sizes and seed
 * give the same items).
 *
 * <ul>
 *   <li><b>Cloze</b>: sentences with an even index (8–40 words, ≤ {@value #MAX_TOKENS} WordPiece tokens).
 *       One content word (Brown tag exactly one of {@link #CONTENT_TAGS}) is replaced by {@code [MASK]};
 *       the answer and three distractors carrying the same tag come from a lexicon of words seen at least
 *       {@value #MIN_COUNT} times with that tag, alphabetic, 3+ letters and a single WordPiece token.
 *       Distractors never occur in the sentence. The model's choice is the highest MLM logit among the 4.
 *   <li><b>MLM</b> (held out from the cloze sentences: odd indexes, same length limits): a fixed 15 %
 *       sample of the word-piece positions (at least one) is masked <i>simultaneously</i>, as in BERT's
 *       pre-training (one forward pass per sentence, every masked token replaced by {@code [MASK]}).
 *       Pseudo-perplexity = exp(mean negative log-likelihood of the true tokens at the masked positions).
 * </ul>
 */
public final class EvalTasks {
  public static final List<String> CONTENT_TAGS = List.of("nn", "nns", "vb", "vbd", "vbg", "vbn", "vbz", "jj");
  public static final int MIN_COUNT = 5;
  public static final int MAX_TOKENS = 64;
  public static final double MASK_FRACTION = 0.15;
  public static final long DEFAULT_SEED = 20261126L;

  /** A 4-way cloze item: {@code ids} with one {@code [MASK]} at {@code position}. */
  public record ClozeItem(String text, String tag, int[] ids, int position, int[] candidates, int answer) {
    public String describe() {
      return text + " | " + tag + " " + Arrays.toString(candidates) + " answer=" + answer + " @" + position;
    }
  }

  /** A masked-LM item: {@code input} has {@code [MASK]} at {@code positions}, whose true ids are {@code targets}. */
  public record MlmItem(String text, int[] input, int[] positions, int[] targets) {
    public String describe() {
      return text + " | " + Arrays.toString(positions) + " " + Arrays.toString(targets);
    }
  }

  private final List<ClozeItem> cloze;
  private final List<MlmItem> mlm;

  private EvalTasks(List<ClozeItem> cloze, List<MlmItem> mlm) {
    this.cloze = List.copyOf(cloze);
    this.mlm = List.copyOf(mlm);
  }

  public List<ClozeItem> cloze() {
    return cloze;
  }

  public List<MlmItem> mlm() {
    return mlm;
  }

  /** Builds {@code nCloze} cloze items and {@code nMlm} MLM sentences. */
  public static EvalTasks build(BrownCorpus corpus, WordPieceTokenizer tok, int nCloze, int nMlm, long seed) {
    List<Sentence> all = corpus.sentences();
    Map<String, List<String>> lexicon = lexicon(all, w -> tok.singleTokenId(w) >= 0);
    List<Integer> even = sentences(all, 0);
    List<Integer> odd = sentences(all, 1);
    Random rc = new Random(seed);
    Collections.shuffle(even, rc);
    List<ClozeItem> cloze = pick(even, nCloze, idx -> clozeItem(all.get(idx), tok, lexicon, rc));
    Random rm = new Random(seed ^ 0x9E3779B97F4A7C15L);
    Collections.shuffle(odd, rm);
    List<MlmItem> mlm = pick(odd, nMlm, idx -> mlmItem(all.get(idx), tok, rm));
    return new EvalTasks(cloze, mlm);
  }

  /** The first {@code n} non-null items made from {@code indexes}, in order (fewer when they run out). */
  public static <T> List<T> pick(List<Integer> indexes, int n, java.util.function.IntFunction<T> item) {
    List<T> out = new ArrayList<>();
    for (int i = 0; i < indexes.size() && out.size() < n; i++) {
      T it = item.apply(indexes.get(i));
      if (it != null) {
        out.add(it);
      }
    }
    return out;
  }

  /** Indexes of the sentences of 8–40 words whose index has the given parity (0: cloze, 1: held out). */
  public static List<Integer> sentences(List<Sentence> all, int parity) {
    List<Integer> out = new ArrayList<>();
    for (int i = parity; i < all.size(); i += 2) {
      int n = all.get(i).tokens().size();
      if (n >= 8 && n <= 40) {
        out.add(i);
      }
    }
    return out;
  }

  /** Tag → sorted candidate words (see the class comment), {@code accept} deciding which a model can use. */
  public static Map<String, List<String>> lexicon(List<Sentence> all, java.util.function.Predicate<String> accept) {
    Map<String, Map<String, Integer>> counts = new HashMap<>();
    for (Sentence s : all) {
      for (Token t : s.tokens()) {
        if (CONTENT_TAGS.contains(t.tag())) {
          counts.computeIfAbsent(t.tag(), k -> new HashMap<>()).merge(t.word().toLowerCase(Locale.ROOT), 1,
              Integer::sum);
        }
      }
    }
    Map<String, List<String>> lex = new TreeMap<>();
    for (String tag : CONTENT_TAGS) {
      List<String> words = new ArrayList<>();
      for (Map.Entry<String, Integer> e : counts.getOrDefault(tag, Map.of()).entrySet()) {
        String w = e.getKey();
        if (e.getValue() >= MIN_COUNT && w.length() >= 3 && w.chars().allMatch(c -> c >= 'a' && c <= 'z')
            && accept.test(w)) {
          words.add(w);
        }
      }
      Collections.sort(words);
      lex.put(tag, words);
    }
    return lex;
  }

  /** A content word of a sentence ({@code slot}) and four candidates with its tag, the answer among them. */
  public record ClozeChoice(int slot, String tag, List<String> candidates, int answer) {}

  /**
   * Picks a content word at index {@code >= minSlot} and three distractors with its tag, not in the
   * sentence (see the class comment), shuffled; null when the sentence has no such word.
   */
  public static ClozeChoice choose(Sentence s, Map<String, List<String>> lex, Random r, int minSlot) {
    List<Token> toks = s.tokens();
    Set<String> present = new HashSet<>();
    for (Token t : toks) {
      present.add(t.word().toLowerCase(Locale.ROOT));
    }
    List<Integer> slots = new ArrayList<>();
    for (int i = minSlot; i < toks.size(); i++) {
      Token t = toks.get(i);
      List<String> words = lex.get(t.tag());
      if (words != null && words.size() >= 50
          && Collections.binarySearch(words, t.word().toLowerCase(Locale.ROOT)) >= 0) {
        slots.add(i);
      }
    }
    if (slots.isEmpty()) {
      return null;
    }
    int slot = slots.get(r.nextInt(slots.size()));
    Token target = toks.get(slot);
    String answerWord = target.word().toLowerCase(Locale.ROOT);
    List<String> words = lex.get(target.tag());
    List<String> cands = new ArrayList<>(List.of(answerWord));
    int guard = 0;
    while (cands.size() < 4 && guard++ < 1000) {
      String d = words.get(r.nextInt(words.size()));
      if (!present.contains(d) && !cands.contains(d)) {
        cands.add(d);
      }
    }
    if (cands.size() < 4) {
      return null;
    }
    Collections.shuffle(cands, r);
    return new ClozeChoice(slot, target.tag(), List.copyOf(cands), cands.indexOf(answerWord));
  }

  private static ClozeItem clozeItem(Sentence s, WordPieceTokenizer tok, Map<String, List<String>> lex, Random r) {
    ClozeChoice c = choose(s, lex, r, 0);
    if (c == null) {
      return null;
    }
    List<Token> toks = s.tokens();
    int slot = c.slot();
    List<String> cands = c.candidates();
    List<String> masked = new ArrayList<>();
    for (int i = 0; i < toks.size(); i++) {
      masked.add(i == slot ? WordPieceTokenizer.MASK : toks.get(i).word());
    }
    String text = BrownCorpus.join(masked);
    int[] ids = tok.encode(text);
    if (ids.length > MAX_TOKENS) {
      return null;
    }
    int pos = -1;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == tok.maskId()) {
        pos = i;
      }
    }
    int[] candIds = new int[4];
    for (int i = 0; i < 4; i++) {
      candIds[i] = tok.singleTokenId(cands.get(i));
    }
    return new ClozeItem(text, c.tag(), ids, pos, candIds, c.answer());
  }

  private static MlmItem mlmItem(Sentence s, WordPieceTokenizer tok, Random r) {
    String text = s.text();
    int[] ids = tok.encode(text);
    if (ids.length > MAX_TOKENS || ids.length < 4) {
      return null;
    }
    int inner = ids.length - 2;
    int k = Math.max(1, (int) Math.round(inner * MASK_FRACTION));
    List<Integer> pos = new ArrayList<>();
    for (int i = 1; i <= inner; i++) {
      pos.add(i);
    }
    Collections.shuffle(pos, r);
    int[] positions = pos.subList(0, k).stream().mapToInt(Integer::intValue).sorted().toArray();
    int[] input = ids.clone();
    int[] targets = new int[k];
    for (int i = 0; i < k; i++) {
      targets[i] = ids[positions[i]];
      input[positions[i]] = tok.maskId();
    }
    return new MlmItem(text, input, positions, targets);
  }
}
