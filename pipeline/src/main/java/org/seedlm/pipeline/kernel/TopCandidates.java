package org.seedlm.pipeline.kernel;

import java.util.Arrays;

/**
 * Candidate selection (step 3 of {@link FastSeedSearch}'s argument), per thread: for each block b of
 * a tile, the M seeds with the largest upper bound {@code fu} offered so far (unordered), and the
 * threshold a seed must exceed to be offered: the smallest kept {@code fu} once M are kept, or the
 * warm start before that. In collecting mode (step 6) every offered seed is appended to one list
 * instead, without a limit and without moving the threshold.
 */
final class TopCandidates {
  private final int m;

  final float[] fu; // (TB, M) the kept upper bounds of block b in slots [b*M, b*M + count[b])
  final int[] pos; // (TB, M) their cycle positions
  final int[] count; // (TB,) kept so far
  private final int[] minSlot; // (TB,) the slot of the smallest kept fu once count[b] == M
  final float[] threshold; // (TB,) a seed is offered only when its fu > threshold[b]
  final float[] warmThreshold; // (TB,) the starting threshold, -inf for none
  private final double[] recent = {2, 2, 2, 2}; // threshold / ||w'||^2 of the last 4 full blocks
  private int nRecent;

  // collecting mode (step 6)
  private boolean collecting;
  int nCollected;
  int[] collectedPos = new int[64];
  float[] collectedFu = new float[64];

  TopCandidates(int tileBlocks, int m) {
    this.m = m;
    fu = new float[tileBlocks * m];
    pos = new int[tileBlocks * m];
    count = new int[tileBlocks];
    minSlot = new int[tileBlocks];
    threshold = new float[tileBlocks];
    warmThreshold = new float[tileBlocks];
  }

  int capacity() {
    return m;
  }

  /**
   * Empties block b's set. With the warm start, the threshold starts at {@code ||w'||^2 (1 - 3 (1 -
   * r))}, r the smallest of the recent blocks' final threshold / ||w'||^2 (performance only: seeds
   * below it are excluded exactly like seeds below the M-th largest, and step 5 accounts for it).
   */
  void start(int b, double s2, boolean warmStart) {
    count[b] = 0;
    double rmin = Double.POSITIVE_INFINITY;
    for (double x : recent) rmin = Math.min(rmin, x);
    if (warmStart && rmin < 1 && rmin > 0) {
      warmThreshold[b] = (float) (s2 * (1 - 3 * (1 - rmin)));
      if (!(warmThreshold[b] > 0)) warmThreshold[b] = Float.NEGATIVE_INFINITY;
    } else warmThreshold[b] = Float.NEGATIVE_INFINITY;
    threshold[b] = warmThreshold[b];
  }

  /** Records block b's final threshold level for the next blocks' warm start (when M were kept). */
  void remember(int b, double s2) {
    if (count[b] == m) recent[nRecent++ & 3] = threshold[b] / s2;
  }

  /** Whether seeds of block b may have been left out (M kept, or a warm start was used). */
  boolean partial(int b) {
    return count[b] == m || warmThreshold[b] > Float.NEGATIVE_INFINITY;
  }

  /** Offers the seed at cycle position o with upper bound f (the caller checked f > threshold[b]). */
  void offer(int b, float f, int o) {
    if (collecting) {
      if (nCollected == collectedPos.length) {
        collectedPos = Arrays.copyOf(collectedPos, nCollected * 2);
        collectedFu = Arrays.copyOf(collectedFu, nCollected * 2);
      }
      collectedPos[nCollected] = o;
      collectedFu[nCollected++] = f;
      return;
    }
    int base = b * m;
    int cnt = count[b];
    if (cnt < m) {
      fu[base + cnt] = f;
      pos[base + cnt] = o;
      count[b] = ++cnt;
      if (cnt == m) updateMin(b);
      return;
    }
    int mi = minSlot[b];
    fu[base + mi] = f;
    pos[base + mi] = o;
    updateMin(b);
  }

  private void updateMin(int b) {
    int base = b * m;
    int mi = 0;
    float mv = fu[base];
    for (int i = 1; i < m; i++)
      if (fu[base + i] < mv) {
        mv = fu[base + i];
        mi = i;
      }
    minSlot[b] = mi;
    threshold[b] = mv;
  }

  /** Collecting mode for block b: every seed with fu > t is appended (step 6). */
  void startCollecting(int b, float t) {
    collecting = true;
    nCollected = 0;
    threshold[b] = t;
  }

  void stopCollecting() {
    collecting = false;
  }
}
