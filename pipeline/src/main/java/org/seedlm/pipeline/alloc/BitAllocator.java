package org.seedlm.pipeline.alloc;

import java.util.List;
import java.util.Locale;
import org.seedlm.pipeline.BadInputException;

/**
 * One codec per tensor, at most a size, smallest total cost: the multiple-choice knapsack, solved by dynamic
 * programming over a size grid.
 *
 * <p>Sizes are bits. With {@code g} the greatest common divisor of every option's bits, all sizes are
 * multiples of {@code g}, so the DP over {@code floor(maxBits / g) + 1} cells is exact: it returns a choice of
 * the smallest cost among all choices within the budget (ties: the first found, in the order options are
 * given). When that grid would exceed {@value #MAX_CELLS} cells times items, a coarser grid is used with every
 * size rounded up to it: the choice still fits the budget, and {@link Result#exact()} says it may not be the
 * cheapest. {@link Result#lowerBound()} then bounds how far from the cheapest it can be: the same DP with every
 * size rounded down, a relaxation (any choice within the budget stays within it), so no choice within the
 * budget costs less.
 */
public final class BitAllocator {
  /** Most (cells x items) of the DP table (one byte each, for the choices). */
  static final long MAX_CELLS = 50_000_000L;

  private BitAllocator() {}

  /** One way to store one tensor. */
  public record Option(String codec, long bits, double cost) {}

  /** A tensor and its options (at least one). */
  public record Item(String name, long weights, List<Option> options) {}

  /**
   * The choice (an option index per item), its bits and cost, whether the grid was exact, and a cost no choice
   * within the budget is below (equal to {@code cost} when exact).
   */
  public record Result(int[] choice, long bits, double cost, boolean exact, long gridBits, double lowerBound) {}

  public static Result solve(List<Item> items, long maxBits) {
    return solve(items, maxBits, MAX_CELLS);
  }

  /** The smallest reachable size: every item at its smallest option. */
  public static long minBits(List<Item> items) {
    return items.stream().mapToLong(it -> it.options().stream().mapToLong(Option::bits).min().orElseThrow(
        () -> new IllegalArgumentException("item " + it.name() + " has no option"))).sum();
  }

  static Result solve(List<Item> items, long maxBits, long maxCells) {
    long minBits = minBits(items);
    long weights = 0;
    long g = 0;
    for (Item it : items) {
      for (Option o : it.options()) {
        g = gcd(g, o.bits());
      }
      weights += it.weights();
    }
    if (minBits > maxBits) {
      throw new BadInputException(String.format(Locale.ROOT, "Cannot allocate %,d bits (%.4f bits/weight): the smallest"
          + " reachable size is %,d bits (%.4f bits/weight, every tensor at its smallest codec); raise the target",
          maxBits, (double) maxBits / weights, minBits, (double) minBits / weights));
    }
    g = Math.max(g, 1);
    boolean exact = true;
    long perItem = Math.max(2, maxCells / Math.max(1, items.size()));
    if (maxBits / g + 1 > perItem) {
      exact = false;
      g = Math.max(g, (maxBits + perItem - 2) / (perItem - 1));
    }
    int cells = Math.toIntExact(maxBits / g + 1);
    byte[][] pick = new byte[items.size()][cells];
    double[] best = table(items, g, cells, true, pick);
    if (best[cells - 1] == Double.POSITIVE_INFINITY) { // only on a coarse grid: sizes rounded up no longer fit
      throw new BadInputException(String.format(Locale.ROOT, "Cannot allocate %,d bits: the target is within one "
          + "%,d-bit grid step per tensor of the smallest reachable size (%,d bits); raise it a little", maxBits, g,
          minBits));
    }
    int[] choice = new int[items.size()];
    int c = cells - 1;
    long bits = 0;
    double cost = 0;
    for (int i = items.size() - 1; i >= 0; i--) {
      Option o = items.get(i).options().get(pick[i][c]);
      choice[i] = pick[i][c];
      bits += o.bits();
      cost += o.cost();
      c -= (int) ((o.bits() + g - 1) / g);
    }
    return new Result(choice, bits, cost, exact, g, exact ? cost : table(items, g, cells, false, null)[cells - 1]);
  }

  /**
   * The DP over {@code cells} grid units of {@code g} bits: entry c, the smallest cost of all items within c units,
   * each option's size rounded up (or down) to whole units; {@code pick[i][c]}, when given, the option of item i.
   */
  private static double[] table(List<Item> items, long g, int cells, boolean roundUp, byte[][] pick) {
    double[] best = new double[cells]; // best[c]: smallest cost of the items so far within c grid units
    double[] next = new double[cells];
    for (int i = 0; i < items.size(); i++) {
      List<Option> opts = items.get(i).options();
      if (opts.size() > 127) {
        throw new IllegalArgumentException("at most 127 options per item");
      }
      java.util.Arrays.fill(next, Double.POSITIVE_INFINITY);
      for (int k = 0; k < opts.size(); k++) {
        long units = roundUp ? (opts.get(k).bits() + g - 1) / g : opts.get(k).bits() / g;
        double cost = opts.get(k).cost();
        for (int c = (int) Math.min(units, cells); c < cells; c++) {
          double v = best[c - (int) units] + cost;
          if (v < next[c]) {
            next[c] = v;
            if (pick != null) {
              pick[i][c] = (byte) k;
            }
          }
        }
      }
      double[] t = best;
      best = next;
      next = t;
    }
    return best;
  }

  private static long gcd(long a, long b) {
    while (b != 0) {
      long t = a % b;
      a = b;
      b = t;
    }
    return a;
  }
}
