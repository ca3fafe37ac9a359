package org.seedlm.jobs;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The progress of a long stage across the whole cluster (counts come from driver-side accumulators or
 * counters): units done out of all, the work they hold (blocks, items), the rate, the time left and the
 * failed units.
 * <ul>
 *   <li>On a terminal ({@link System#console()} present, {@code CI} unset, printing to the console): one live
 *       line, redrawn in place twice a second:
 *       {@code [quantize] [#########...............]  37/96 units  1,212,416/3,145,728 blocks  2,345 blocks/s
 *       ETA 13m 44s  0 failed}, ended with a newline when the stage ends.</li>
 *   <li>Otherwise (logs, spark-submit, tests): the same facts as a line every {@code intervalSeconds}:
 *       {@code [quantize] 37/96 units (38.5%)  1,212,416/3,145,728 blocks  2,345 blocks/s  elapsed 10s
 *       ETA 13m 44s  0 failed}. No carriage return ever reaches a log.</li>
 * </ul>
 * An interval of 0 or less turns both off.
 */
final class Progress implements AutoCloseable {
  private static final int BAR_WIDTH = 24;
  private static final long LIVE_REFRESH_MS = 500;

  private final String stage;
  private final String unitName;
  private final long totalUnits;
  private final String workName;
  private final long totalWork;
  private final LongSupplier unitsDone;
  private final LongSupplier workDone;
  private final LongSupplier failed;
  private final PrintStream out;
  private final boolean live;
  private final long t0 = System.nanoTime();
  private final Thread thread;
  private volatile boolean done;
  private int lastWidth;

  /**
   * Units of a stage that each hold some work: {@code workName} ("blocks") counted by {@code workDone}.
   * {@code workName} null: the units are the work (items of an evaluation).
   */
  Progress(String stage, String unitName, long totalUnits, LongSupplier unitsDone, String workName, long totalWork,
      LongSupplier workDone, LongSupplier failed, double intervalSeconds, PrintStream out) {
    this.stage = stage;
    this.unitName = unitName;
    this.totalUnits = totalUnits;
    this.unitsDone = unitsDone;
    this.workName = workName;
    this.totalWork = workName == null ? totalUnits : totalWork;
    this.workDone = workName == null ? unitsDone : workDone;
    this.failed = failed;
    this.out = out;
    this.live = intervalSeconds > 0 && onTerminal(out);
    long sleepMs = live ? LIVE_REFRESH_MS : (long) (intervalSeconds * 1000);
    thread = new Thread(() -> {
      while (!done) {
        try {
          Thread.sleep(sleepMs);
        } catch (InterruptedException e) {
          return;
        }
        if (!done) {
          print();
        }
      }
    }, "seedlm-progress");
    thread.setDaemon(true);
    if (intervalSeconds > 0) {
      thread.start();
    }
  }

  /** Quantize-style: units holding blocks. */
  Progress(String stage, int totalUnits, long totalBlocks, LongSupplier unitsDone, LongSupplier blocksDone,
      LongSupplier failed, double intervalSeconds, PrintStream out) {
    this(stage, "units", totalUnits, unitsDone, "blocks", totalBlocks, blocksDone, failed, intervalSeconds, out);
  }

  /**
   * Whether {@code out} is an interactive console: Java sees a console, {@code CI} is not set, and the stream is
   * the process's own stdout or stderr (not a test's capture).
   */
  static boolean onTerminal(PrintStream out) {
    return System.console() != null && System.getenv("CI") == null && (out == System.out || out == System.err);
  }

  /** The facts as of now, in the log form (live {@code false}) or the bar form. */
  String line(boolean bar) {
    double secs = (System.nanoTime() - t0) / 1e9;
    long units = unitsDone.getAsLong();
    long work = workDone.getAsLong();
    double rate = work / Math.max(secs, 1e-9);
    String eta = rate > 0 ? duration((totalWork - work) / rate) : "?";
    String rateName = workName == null ? unitName : workName;
    StringBuilder sb = new StringBuilder("[").append(stage).append("] ");
    if (bar) {
      int filled = (int) Math.min(BAR_WIDTH, BAR_WIDTH * work / Math.max(1, totalWork));
      sb.append('[').append("#".repeat(filled)).append(".".repeat(BAR_WIDTH - filled)).append("]  ");
      sb.append(String.format(Locale.ROOT, "%,d/%,d %s", units, totalUnits, unitName));
    } else {
      sb.append(String.format(Locale.ROOT, "%d/%d %s (%.1f%%)", units, totalUnits, unitName,
          100.0 * work / Math.max(1, totalWork)));
    }
    if (workName != null) {
      sb.append(String.format(Locale.ROOT, "  %,d/%,d %s", work, totalWork, workName));
    }
    sb.append(String.format(Locale.ROOT, rate >= 100 ? "  %,.0f %s/s" : "  %,.1f %s/s", rate, rateName));
    if (!bar) {
      sb.append("  elapsed ").append(duration(secs));
    }
    sb.append("  ETA ").append(eta);
    if (failed != null) {
      sb.append("  ").append(failed.getAsLong()).append(" failed");
    }
    return sb.toString();
  }

  private synchronized void print() {
    if (live) {
      String l = line(true);
      out.print("\r" + l + " ".repeat(Math.max(0, lastWidth - l.length())));
      lastWidth = l.length();
    } else {
      out.println(line(false));
    }
    out.flush();
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
    try {
      thread.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (live) {
      print(); // the final state, then leave the line
      out.println();
      out.flush();
    }
  }
}
