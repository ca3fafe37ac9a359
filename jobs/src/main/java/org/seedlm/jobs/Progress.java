package org.seedlm.jobs;

import java.io.PrintStream;
import java.util.function.LongSupplier;

/**
 * Prints a progress line every few seconds while a long stage runs:
 * {@code [quantize] 37/96 units (38.5%)  1,212,416/3,145,728 blocks  2,345 blocks/s  ETA 13m 44s}.
 */
final class Progress implements AutoCloseable {
  private final Thread thread;
  private volatile boolean done;

  Progress(String stage, int totalUnits, long totalBlocks, LongSupplier unitsDone, LongSupplier blocksDone,
      double intervalSeconds, PrintStream out) {
    this(stage, "units", "blocks", totalUnits, totalBlocks, unitsDone, blocksDone, intervalSeconds, out);
  }

  /** The same, counting other things than units and blocks (e.g. "shards" and "tensors"). */
  Progress(String stage, String unitName, String blockName, int totalUnits, long totalBlocks, LongSupplier unitsDone,
      LongSupplier blocksDone, double intervalSeconds, PrintStream out) {
    long t0 = System.nanoTime();
    thread = new Thread(() -> {
      long sleepMs = (long) (intervalSeconds * 1000);
      while (!done) {
        try {
          Thread.sleep(sleepMs);
        } catch (InterruptedException e) {
          return;
        }
        if (done) {
          return;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long units = unitsDone.getAsLong();
        long blocks = blocksDone.getAsLong();
        double rate = blocks / Math.max(secs, 1e-9);
        String eta = rate > 0 ? duration((totalBlocks - blocks) / rate) : "?";
        out.printf("[%s] %d/%d %s (%.1f%%)  %,d/%,d %s  %,.0f %s/s  elapsed %s  ETA %s%n", stage, units,
            totalUnits, unitName, 100.0 * units / Math.max(1, totalUnits), blocks, totalBlocks, blockName, rate,
            blockName, duration(secs), eta);
        out.flush();
      }
    }, "seedlm-progress");
    thread.setDaemon(true);
    if (intervalSeconds > 0) {
      thread.start();
    }
  }

  static String duration(double seconds) {
    if (Double.isNaN(seconds) || Double.isInfinite(seconds)) {
      return "?";
    }
    long s = Math.round(seconds);
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return String.format("%dm %02ds", s / 60, s % 60);
    }
    return String.format("%dh %02dm", s / 3600, (s % 3600) / 60);
  }

  @Override
  public void close() {
    done = true;
    thread.interrupt();
  }
}
