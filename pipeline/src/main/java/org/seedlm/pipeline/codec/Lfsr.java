package org.seedlm.pipeline.codec;

/**
 * The K-bit Fibonacci LFSR of SeedLM (SPEC section 2).
 *
 * <p>{@code next(state)}: {@code fb = XOR over j in TAPS[K] of (state >> j) & 1}, then {@code
 * (state >> 1) | (fb << (K - 1))}. Every supported K (2..24) has a maximal-length cycle of {@code
 * 2^K - 1} distinct nonzero states; state 0 is not a valid state.
 */
public final class Lfsr {
  private Lfsr() {}

  /** Smallest supported register width. */
  public static final int MIN_K = 2;

  /** Largest supported register width. */
  public static final int MAX_K = 24;

  private static final int[][] TAPS = new int[MAX_K + 1][];

  static {
    TAPS[2] = new int[] {0, 1};
    TAPS[3] = new int[] {0, 1};
    TAPS[4] = new int[] {0, 1};
    TAPS[5] = new int[] {0, 2};
    TAPS[6] = new int[] {0, 1};
    TAPS[7] = new int[] {0, 1};
    TAPS[8] = new int[] {0, 2, 3, 4};
    TAPS[9] = new int[] {0, 4};
    TAPS[10] = new int[] {0, 3};
    TAPS[11] = new int[] {0, 2};
    TAPS[12] = new int[] {0, 1, 2, 8};
    TAPS[13] = new int[] {0, 1, 2, 5};
    TAPS[14] = new int[] {0, 1, 2, 12};
    TAPS[15] = new int[] {0, 1};
    TAPS[16] = new int[] {0, 1, 3, 12};
    TAPS[17] = new int[] {0, 3};
    TAPS[18] = new int[] {0, 7};
    TAPS[19] = new int[] {0, 1, 2, 5};
    TAPS[20] = new int[] {0, 3};
    TAPS[21] = new int[] {0, 2};
    TAPS[22] = new int[] {0, 1};
    TAPS[23] = new int[] {0, 5};
    TAPS[24] = new int[] {0, 1, 2, 7};
  }

  /** Tap mask per K: bit j set when j is a tap. */
  private static final int[] TAP_MASK = new int[MAX_K + 1];

  static {
    for (int k = MIN_K; k <= MAX_K; k++) {
      int m = 0;
      for (int j : TAPS[k]) {
        m |= 1 << j;
      }
      TAP_MASK[k] = m;
    }
  }

  /** Throws unless {@code MIN_K <= k <= MAX_K}. */
  public static void checkK(int k) {
    if (k < MIN_K || k > MAX_K) {
      throw new IllegalArgumentException(
          "Cannot use LFSR width K=" + k + ": K must be in [" + MIN_K + ", " + MAX_K + "]");
    }
  }

  /** The tap indices of width {@code k} (a copy), e.g. {@code [0, 1, 3, 12]} for K = 16. */
  public static int[] taps(int k) {
    checkK(k);
    return TAPS[k].clone();
  }

  /** Number of nonzero states, {@code 2^K - 1} (the cycle length and the number of seeds). */
  public static int period(int k) {
    checkK(k);
    return (1 << k) - 1;
  }

  /** One LFSR update of a K-bit state; {@code state} must be in {@code [1, 2^K - 1]}. */
  public static int next(int state, int k) {
    checkK(k);
    if (state <= 0 || state >= (1 << k)) {
      throw new IllegalArgumentException(
          "Cannot step LFSR state "
              + state
              + ": state must be in [1, 2^K - 1] for K="
              + k);
    }
    return step(state, k);
  }

  /** Unchecked update, for inner loops whose inputs are already valid. */
  static int step(int state, int k) {
    int fb = Integer.bitCount(state & TAP_MASK[k]) & 1;
    return (state >>> 1) | (fb << (k - 1));
  }

  /**
   * The full cycle of width {@code k} starting at state 1: {@code x[0] = 1}, {@code x[m+1] =
   * next(x[m])}, length {@code 2^K - 1}. Throws if the taps do not give a maximal cycle.
   */
  public static int[] cycle(int k) {
    checkK(k);
    int n = (1 << k) - 1;
    int[] x = new int[n];
    int s = 1;
    for (int m = 0; m < n; m++) {
      x[m] = s;
      s = step(s, k);
      if (s == 1 && m != n - 1) {
        throw new IllegalStateException(
            "Cannot build LFSR cycle for K=" + k + ": taps give period " + (m + 1) + " < " + n);
      }
    }
    if (s != 1) {
      throw new IllegalStateException(
          "Cannot build LFSR cycle for K=" + k + ": taps do not return to state 1");
    }
    return x;
  }
}
