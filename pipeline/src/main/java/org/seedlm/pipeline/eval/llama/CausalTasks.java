package org.seedlm.pipeline.eval.llama;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.seedlm.pipeline.eval.BrownCorpus;
import org.seedlm.pipeline.eval.BrownCorpus.Sentence;
import org.seedlm.pipeline.eval.BrownCorpus.Token;
import org.seedlm.pipeline.eval.EvalTasks;

/**
 * Zero-shot items of a causal LM built deterministically from the Brown corpus (same corpus, tokenizer,
 * sizes and seed give the same items), on the sentences {@link EvalTasks} uses for BERT.
 *
 * <ul>
 *   <li><b>Perplexity</b> passages: held-out sentences (odd indexes, as BERT's MLM sentences), BOS first,
 *       at most {@code maxTokens} tokens; token-level NLL of every token after BOS.
 *   <li><b>Cloze</b> (even indexes, as BERT's cloze): a content word at word index 3 or later and three
 *       distractors with the same Brown tag ({@link EvalTasks#choose}); the sentence's words before it
 *       are the context, each candidate {@code " word"} a continuation, scored as lm-evaluation-harness
 *       scores multiple choice: {@code acc} takes the candidate with the highest sum of continuation token
 *       log-probabilities, {@code acc_norm} that sum divided by the continuation's UTF-8 byte length.
 *       The continuation's tokens are those of {@code encode(context + " " + word)} after
 *       {@code encode(context)} (items where that is not a prefix are skipped).
 * </ul>
 */
public record CausalTasks(List<Passage> passages, List<ClozeItem> cloze) {
  /** Words before the cloze slot, at least. */
  public static final int MIN_CONTEXT_WORDS = 3;

  /** A perplexity passage: its ids, BOS first. */
  public record Passage(String text, int[] ids) {}

  /** A 4-way cloze item: one sequence per candidate whose tokens from {@code start[c]} on are the continuation. */
  public record ClozeItem(String context, String tag, List<String> candidates, int[][] sequences, int[] start,
      int[] continuationBytes, int answer) {}

  public CausalTasks {
    passages = List.copyOf(passages);
    cloze = List.copyOf(cloze);
  }

  /** Builds {@code nPassages} perplexity passages and {@code nCloze} cloze items of at most {@code maxTokens} tokens. */
  public static CausalTasks build(BrownCorpus corpus, HfTokenizer tok, int nPassages, int nCloze, int maxTokens,
      long seed) {
    List<Sentence> all = corpus.sentences();
    List<Integer> even = EvalTasks.sentences(all, 0);
    List<Integer> odd = EvalTasks.sentences(all, 1);
    Map<String, List<String>> lexicon = EvalTasks.lexicon(all, w -> true);
    Random rc = new Random(seed);
    Collections.shuffle(even, rc);
    List<ClozeItem> cloze = EvalTasks.pick(even, nCloze, idx -> clozeItem(all.get(idx), tok, lexicon, rc, maxTokens));
    Collections.shuffle(odd, new Random(seed ^ 0x9E3779B97F4A7C15L));
    List<Passage> passages = EvalTasks.pick(odd, nPassages, idx -> {
      String text = all.get(idx).text();
      int[] ids = tok.encode(text);
      return ids.length >= 4 && ids.length <= maxTokens ? new Passage(text, ids) : null;
    });
    return new CausalTasks(passages, cloze);
  }

  private static ClozeItem clozeItem(Sentence s, HfTokenizer tok, Map<String, List<String>> lex, Random r,
      int maxTokens) {
    EvalTasks.ClozeChoice c = EvalTasks.choose(s, lex, r, MIN_CONTEXT_WORDS);
    if (c == null) {
      return null;
    }
    String context = BrownCorpus.join(s.tokens().subList(0, c.slot()).stream().map(Token::word).toList());
    int[] ctx = tok.encode(context);
    int n = c.candidates().size();
    int[][] seqs = new int[n][];
    int[] start = new int[n];
    int[] bytes = new int[n];
    for (int i = 0; i < n; i++) {
      String continuation = " " + c.candidates().get(i);
      int[] whole = tok.encode(context + continuation);
      if (whole.length <= ctx.length || whole.length > maxTokens
          || !Arrays.equals(ctx, 0, ctx.length, whole, 0, ctx.length)) {
        return null;
      }
      seqs[i] = whole;
      start[i] = ctx.length;
      bytes[i] = continuation.getBytes(StandardCharsets.UTF_8).length;
    }
    return new ClozeItem(context, c.tag(), c.candidates(), seqs, start, bytes, c.answer());
  }
}
