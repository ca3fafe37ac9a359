package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SeedBasisTest {

  /** Goldens computed independently (throw-away script) for K=16, C=8, P=3, row-major. */
  private static final int[][] GOLDEN_V = {
    {1, 32768, 16384, 8192, 4096, 34816, 17408, 8704, 4352, 34944, 17472, 8736, 4368, 34952, 50244,
      25122, 45329, 22664, 11332, 5666, 2833, 34184, 49860, 24930, 45233},
    {2, 32769, 49152, 24576, 12288, 38912, 52224, 26112, 13056, 39296, 52416, 26208, 13104, 39320,
      19660, 42598, 54067, 59801, 29900, 14950, 7475, 36505, 18252, 41894, 53715},
    {12345, 38940, 19470, 9735, 4867, 35201, 50368, 25184, 12592, 39064, 19532, 42534, 54035, 59785,
      29892, 47714, 23857, 11928, 38732, 19366, 42451, 21225, 43380, 21690, 43613},
    {65535, 32767, 16383, 8191, 4095, 34815, 50175, 57855, 61695, 30847, 15423, 7711, 3855, 34695,
      17347, 8673, 37104, 51320, 58428, 61982, 63759, 31879, 48707, 57121, 28560},
  };

  @Test
  void k16GoldenStatesAndNormalization() {
    SeedBasis b = SeedBasis.of(SeedLmParams.FOUR_BIT);
    for (int[] row : GOLDEN_V) {
      int seed = row[0];
      for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 3; j++) {
          int v = row[1 + i * 3 + j];
          assertEquals(v, b.state(seed, i, j), "seed " + seed + " V[" + i + "][" + j + "]");
          double u = (v - 32768) / 32767.0;
          assertEquals(u, b.u(seed, i, j));
          assertEquals((float) u, b.uf()[seed * 24 + i * 3 + j]);
        }
      }
    }
    assertEquals(-1.0, (0 + 1 - 32768) / 32767.0); // smallest state 1 maps to -1
    assertSame(b, SeedBasis.of(new SeedLmParams(8, 3, 16)));
  }

  @Test
  void pseudoInverseIsLeftInverseForFullRank() {
    SeedLmParams p = new SeedLmParams(8, 3, 8);
    SeedBasis b = SeedBasis.of(p);
    for (int s = 1; s <= p.numSeeds(); s++) {
      assertTrue(b.fullRank(s));
      for (int a = 0; a < 3; a++) {
        for (int c = 0; c < 3; c++) {
          double acc = 0;
          for (int i = 0; i < 8; i++) {
            acc += b.pinv()[s * 24 + a * 8 + i] * b.u(s, i, c);
          }
          assertEquals(a == c ? 1.0 : 0.0, acc, 1e-9, "seed " + s);
        }
      }
    }
  }

  @Test
  void rankDeficientSeedDropsDependentColumn() {
    // K=7, C=4, P=3, seed 127: V - 64 = [[-1,-33,-49],[-57,-61,-63],[0,-32,-48],[-56,-60,-62]],
    // col0 - 2 col1 + col2 = 0, so column 2 is dropped and columns 0, 1 are kept.
    SeedLmParams p = new SeedLmParams(4, 3, 7);
    SeedBasis b = SeedBasis.of(p);
    int[][] v = {{-1, -33, -49}, {-57, -61, -63}, {0, -32, -48}, {-56, -60, -62}};
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 3; j++) {
        assertEquals(v[i][j] + 64, b.state(127, i, j));
      }
    }
    assertFalse(b.fullRank(127));
    assertEquals(0b011, b.keptMask()[127]);
    int rankDeficient = 0;
    for (int s = 1; s <= p.numSeeds(); s++) {
      if (!b.fullRank(s)) {
        rankDeficient++;
      }
    }
    assertEquals(1, rankDeficient);
    for (int i = 0; i < 4; i++) {
      assertEquals(0.0, b.pinv()[127 * 12 + 2 * 4 + i]); // dropped row is zero
    }
    // the fit is still a least-squares fit: the residual is orthogonal to every column
    SplittableRandom rnd = new SplittableRandom(7);
    for (int trial = 0; trial < 20; trial++) {
      double[] w = new double[4];
      for (int i = 0; i < 4; i++) {
        w[i] = rnd.nextDouble(-1, 1);
      }
      double[] t = new double[3];
      for (int j = 0; j < 3; j++) {
        for (int i = 0; i < 4; i++) {
          t[j] += b.pinv()[127 * 12 + j * 4 + i] * w[i];
        }
      }
      assertEquals(0.0, t[2]);
      for (int j = 0; j < 3; j++) {
        double dot = 0;
        for (int i = 0; i < 4; i++) {
          double r = w[i] - (b.u(127, i, 0) * t[0] + b.u(127, i, 1) * t[1]);
          dot += r * b.u(127, i, j);
        }
        assertEquals(0.0, dot, 1e-12);
      }
    }
  }

  @Test
  void zeroColumnIsDropped() {
    // C=1, P=1: seed 1 -> state 2^(K-1) -> u = 0
    SeedBasis b = SeedBasis.of(new SeedLmParams(1, 1, 6));
    assertEquals(0.0, b.u(1, 0, 0));
    assertEquals(0, b.keptMask()[1]);
    assertEquals(0.0, b.pinv()[1]);
    SeedLmCodec codec = new SeedLmCodec(new SeedLmParams(1, 1, 6));
    SeedChoice c = codec.choice(new double[] {0.5}, 0, 1);
    assertEquals(0, c.q(0));
    assertEquals(0.25, c.err());
  }

  @Test
  void buildsK16Quickly() {
    long t0 = System.nanoTime();
    SeedBasis b = SeedBasis.of(new SeedLmParams(12, 4, 16));
    double secs = (System.nanoTime() - t0) / 1e9;
    assertTrue(secs < 5, "build took " + secs + " s");
    assertEquals(65536 * 48, b.pinv().length);
  }

  @Test
  void seedValidation() {
    SeedBasis b = SeedBasis.of(new SeedLmParams(4, 2, 3));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.state(0, 0, 0));
    assertTrue(e.getMessage().startsWith("Cannot use seed 0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.state(8, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> b.state(1, 4, 0));
  }
}
