package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LfsrTest {

  @Test
  void figure4GoldenSequence() {
    int s = 4;
    int[] seq = new int[8];
    for (int m = 0; m < 8; m++) {
      s = Lfsr.next(s, 3);
      seq[m] = s;
    }
    assertArrayEquals(new int[] {2, 5, 6, 7, 3, 1, 4, 2}, seq);
  }

  @Test
  void figure4GoldenMatrix() {
    SeedBasis b = SeedBasis.of(new SeedLmParams(4, 2, 3));
    int[][] expected = {{2, 5}, {6, 7}, {3, 1}, {4, 2}};
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 2; j++) {
        assertEquals(expected[i][j], b.state(4, i, j), "V[" + i + "][" + j + "]");
        assertEquals((expected[i][j] - 4) / 3.0, b.u(4, i, j));
      }
    }
  }

  @Test
  void tapsTable() {
    assertArrayEquals(new int[] {0, 1, 3, 12}, Lfsr.taps(16));
    assertArrayEquals(new int[] {0, 2, 3, 4}, Lfsr.taps(8));
    assertArrayEquals(new int[] {0, 1, 2, 7}, Lfsr.taps(24));
    assertArrayEquals(new int[] {0, 7}, Lfsr.taps(18));
  }

  @Test
  void maximalPeriodForEveryK() {
    for (int k = 2; k <= 20; k++) {
      int n = (1 << k) - 1;
      int[] cyc = Lfsr.cycle(k);
      assertEquals(n, cyc.length);
      boolean[] seen = new boolean[n + 1];
      for (int x : cyc) {
        assertTrue(x >= 1 && x <= n, "K=" + k + " state " + x);
        assertTrue(!seen[x], "K=" + k + " repeated state " + x);
        seen[x] = true;
      }
      assertEquals(1, Lfsr.next(cyc[n - 1], k), "K=" + k + " cycle closes");
      assertEquals(n, Lfsr.period(k));
    }
  }

  @Test
  void nextMatchesDefinition() {
    // K=16, taps (0,1,3,12): state 1 -> fb = 1 -> 0x8000
    assertEquals(0x8000, Lfsr.next(1, 16));
    assertEquals(0x4000, Lfsr.next(0x8000, 16));
    // 0x1001: bits 0 and 12 set -> fb = 0 -> 0x0800
    assertEquals(0x0800, Lfsr.next(0x1001, 16));
  }

  @Test
  void validation() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lfsr.next(0, 16));
    assertTrue(e.getMessage().startsWith("Cannot step LFSR state 0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Lfsr.next(1 << 16, 16));
    assertThrows(IllegalArgumentException.class, () -> Lfsr.next(1, 1));
    assertThrows(IllegalArgumentException.class, () -> Lfsr.next(1, 25));
    assertThrows(IllegalArgumentException.class, () -> Lfsr.cycle(25));
    IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> Lfsr.taps(1));
    assertTrue(e2.getMessage().contains("K must be in [2, 24]"), e2.getMessage());
  }
}
