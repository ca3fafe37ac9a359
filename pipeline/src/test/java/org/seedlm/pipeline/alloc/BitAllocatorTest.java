package org.seedlm.pipeline.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.BadInputException;

/** The allocator against a brute force over every choice, on small random instances. */
class BitAllocatorTest {

  /** Smallest cost over all choices within maxBits (NaN when none fits). */
  static double bruteForce(List<BitAllocator.Item> items, long maxBits) {
    int n = items.size();
    int[] k = new int[n];
    double best = Double.NaN;
    while (true) {
      long bits = 0;
      double cost = 0;
      for (int i = 0; i < n; i++) {
        bits += items.get(i).options().get(k[i]).bits();
        cost += items.get(i).options().get(k[i]).cost();
      }
      if (bits <= maxBits && (Double.isNaN(best) || cost < best)) {
        best = cost;
      }
      int i = 0;
      while (i < n && ++k[i] == items.get(i).options().size()) {
        k[i++] = 0;
      }
      if (i == n) {
        return best;
      }
    }
  }

  static List<BitAllocator.Item> random(Random r, int n, long unit) {
    List<BitAllocator.Item> items = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int m = 1 + r.nextInt(4);
      List<BitAllocator.Option> opts = new ArrayList<>();
      for (int k = 0; k < m; k++) {
        // fewer bits, more error, as codecs go (with noise, so the order is not always monotone)
        long bits = unit * (1 + r.nextInt(40));
        opts.add(new BitAllocator.Option("c" + k, bits, 1000.0 / bits + r.nextDouble()));
      }
      items.add(new BitAllocator.Item("t" + i, 100, opts));
    }
    return items;
  }

  @Test
  void exactGridMatchesTheBruteForceAndFits() {
    Random r = new Random(5);
    for (int trial = 0; trial < 400; trial++) {
      List<BitAllocator.Item> items = random(r, 1 + r.nextInt(6), 1 + r.nextInt(3) * 96);
      long min = 0;
      long max = 0;
      for (BitAllocator.Item it : items) {
        min += it.options().stream().mapToLong(BitAllocator.Option::bits).min().orElseThrow();
        max += it.options().stream().mapToLong(BitAllocator.Option::bits).max().orElseThrow();
      }
      long budget = min + (long) (r.nextDouble() * (max - min + 1));
      BitAllocator.Result res = BitAllocator.solve(items, budget);
      assertTrue(res.exact());
      assertEquals(res.cost(), res.lowerBound(), 0.0);
      assertTrue(res.bits() <= budget, "fits: " + res.bits() + " > " + budget);
      assertEquals(bruteForce(items, budget), res.cost(), 1e-9, "trial " + trial);
      long bits = 0;
      double cost = 0;
      for (int i = 0; i < items.size(); i++) {
        bits += items.get(i).options().get(res.choice()[i]).bits();
        cost += items.get(i).options().get(res.choice()[i]).cost();
      }
      assertEquals(bits, res.bits());
      assertEquals(cost, res.cost(), 1e-9);
    }
  }

  @Test
  void coarseGridStillFitsAndIsNoBetterThanTheOptimum() {
    Random r = new Random(6);
    int checked = 0;
    for (int trial = 0; trial < 200; trial++) {
      List<BitAllocator.Item> items = random(r, 2 + r.nextInt(5), 7);
      long budget = 0;
      for (BitAllocator.Item it : items) {
        budget += it.options().stream().mapToLong(BitAllocator.Option::bits).max().orElseThrow() * 5 / 6;
      }
      double optimum = bruteForce(items, budget);
      if (Double.isNaN(optimum)) {
        continue;
      }
      BitAllocator.Result res;
      try {
        res = BitAllocator.solve(items, budget, 8L * items.size()); // 8 cells per item: a coarse grid
      } catch (BadInputException e) {
        continue; // rounding sizes up can make a tight budget unreachable on the coarse grid
      }
      assertTrue(!res.exact() && res.gridBits() > 7, "a coarse grid was used");
      assertTrue(res.bits() <= budget);
      assertTrue(res.cost() >= optimum - 1e-9);
      assertTrue(res.lowerBound() <= optimum + 1e-9, "the rounded-down DP is a lower bound");
      checked++;
    }
    assertTrue(checked >= 100, "coarse instances checked: " + checked);
  }

  @Test
  void anUnreachableTargetNamesTheSmallestSize() {
    List<BitAllocator.Item> items = List.of(
        new BitAllocator.Item("a", 100, List.of(new BitAllocator.Option("x", 400, 1), new BitAllocator.Option("y",
            300, 2))),
        new BitAllocator.Item("b", 100, List.of(new BitAllocator.Option("x", 400, 1))));
    BadInputException e = assertThrows(BadInputException.class, () -> BitAllocator.solve(items, 699));
    assertTrue(e.getMessage().contains("smallest reachable size is 700 bits (3.5000 bits/weight"), e.getMessage());
    assertEquals(3, BitAllocator.solve(items, 700).cost(), 1e-12);
  }
}
