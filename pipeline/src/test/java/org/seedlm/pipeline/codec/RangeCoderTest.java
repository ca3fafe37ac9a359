package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RangeCoderTest {

  /** Coded size over n * H (empirical entropy) on large streams, at most this much above 1. */
  private static final double MAX_SIZE_OVER_ENTROPY = 0.01;

  private static int[] roundTrip(int[] symbols, int alphabet) {
    byte[] enc = RangeCoder.encode(symbols, alphabet);
    int[] dec = RangeCoder.decode(enc, 0, symbols.length, alphabet);
    assertArrayEquals(symbols, dec);
    return dec;
  }

  /** Empirical entropy in bits of the whole stream, computed here from the counts. */
  private static double entropyBits(int[] symbols, int alphabet) {
    long[] c = new long[alphabet];
    for (int s : symbols) {
      c[s]++;
    }
    double h = 0;
    for (long k : c) {
      if (k > 0) {
        double p = (double) k / symbols.length;
        h -= k * Math.log(p) / Math.log(2);
      }
    }
    return h;
  }

  private static int[] draw(int n, double[] probs, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int[] s = new int[n];
    for (int i = 0; i < n; i++) {
      double u = rnd.nextDouble();
      int k = 0;
      while (k < probs.length - 1 && u >= probs[k]) {
        u -= probs[k];
        k++;
      }
      s[i] = k;
    }
    return s;
  }

  @Test
  void modelFromCountsByHand() {
    // 3:1 over a total of 4096 -> 3072:1024; a symbol never seen gets 0
    assertArrayEquals(new int[] {3072, 1024, 0}, RangeCoder.Model.fromCounts(new long[] {3, 1, 0}).freq());
    // 1 in 10^6 still gets frequency 1; the remainder goes to the most frequent symbol
    assertArrayEquals(new int[] {1, 4095}, RangeCoder.Model.fromCounts(new long[] {1, 999_999}).freq());
    // 1:1:1 -> floor(4096/3) = 1365 each, remainder 1 to symbol 0 (the first of the most frequent)
    assertArrayEquals(new int[] {1366, 1365, 1365}, RangeCoder.Model.fromCounts(new long[] {5, 5, 5}).freq());
    assertArrayEquals(new int[] {4096, 0}, RangeCoder.Model.fromCounts(new long[] {0, 0}).freq());
  }

  @Test
  void adversarialStreamsRoundTrip() {
    int n = 100_003;
    int[] zeros = new int[n];
    roundTrip(zeros, 3);
    int[] alternating = new int[n];
    for (int i = 0; i < n; i++) {
      alternating[i] = i % 2 == 0 ? 0 : 2;
    }
    roundTrip(alternating, 3);
    int[] cycle = new int[n];
    for (int i = 0; i < n; i++) {
      cycle[i] = i % 5;
    }
    roundTrip(cycle, 5);
    int[] lastSymbol = new int[n];
    java.util.Arrays.fill(lastSymbol, 4);
    roundTrip(lastSymbol, 5);
    int[] rare = new int[n];
    rare[n - 1] = 1; // one rare symbol at the very end, with frequency 1 of 4096
    roundTrip(rare, 2);
    roundTrip(new int[0], 3);
    roundTrip(new int[] {2}, 3);
    for (int len : new int[] {1, 2, 3, 7, 8, 15, 17, 33, 1000}) {
      roundTrip(draw(len, new double[] {0.3, 0.4, 0.3}, len), 3);
      roundTrip(draw(len, new double[] {0.02, 0.96, 0.02}, len + 1), 3);
    }
    // uniform random over the largest alphabet
    SplittableRandom rnd = new SplittableRandom(7);
    int[] wide = new int[n];
    for (int i = 0; i < n; i++) {
      wide[i] = rnd.nextInt(RangeCoder.MAX_ALPHABET);
    }
    roundTrip(wide, RangeCoder.MAX_ALPHABET);
  }

  @Test
  void constantStreamCostsAlmostNothing() {
    byte[] enc = RangeCoder.encode(new int[1_000_000], 3);
    assertTrue(enc.length <= 6 + 5, "constant stream of 10^6 symbols coded to " + enc.length + " bytes");
  }

  @Test
  void codedSizeWithinOnePercentOfEntropy() {
    double[][] dists = {
      {0.05, 0.90, 0.05}, // ternary, 90 % zeros: H = 0.569 bits
      {0.25, 0.5, 0.25}, // ternary, 50 % zeros: H = 1.5
      {1 / 3.0, 1 / 3.0, 1 / 3.0}, // dense ternary: H = log2 3 = 1.585
      {0.02, 0.13, 0.70, 0.13, 0.02}, // five levels
      {0.5, 0.5}, // one bit
    };
    int n = 1_000_000;
    for (int d = 0; d < dists.length; d++) {
      int[] s = draw(n, dists[d], 100 + d);
      int alphabet = dists[d].length;
      byte[] enc = RangeCoder.encode(s, alphabet);
      assertArrayEquals(s, RangeCoder.decode(enc, 0, n, alphabet));
      double h = entropyBits(s, alphabet);
      double over = 8.0 * enc.length / h - 1;
      assertTrue(over >= -1e-9 && over < MAX_SIZE_OVER_ENTROPY,
          "distribution " + d + ": coded " + 8L * enc.length + " bits, entropy " + h + " bits, over " + over);
    }
  }

  @Test
  void rejectsSymbolsOutsideTheAlphabetOrModel() {
    assertThrows(IllegalArgumentException.class, () -> RangeCoder.encode(new int[] {0, 3}, 3));
    RangeCoder.Model m = new RangeCoder.Model(new int[] {4096, 0});
    assertThrows(IllegalArgumentException.class, () -> RangeCoder.encode(new int[] {1}, m));
    assertThrows(IllegalArgumentException.class, () -> new RangeCoder.Model(new int[] {4095, 0}));
    assertEquals(2, m.alphabet());
  }
}
