package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Progress: lines at an interval off a terminal (never a carriage return), the bar's fill and counts. */
class ProgressTest {

  @Test
  void offATerminalPrintsWholeLinesWithTheCountsAndNoCarriageReturn() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    AtomicLong units = new AtomicLong(3);
    AtomicLong blocks = new AtomicLong(300);
    assertFalse(Progress.onTerminal(out), "a captured stream is never a terminal");
    try (Progress p = new Progress("quantize", 12, 1200, units::get, blocks::get, () -> 1, 0.05, out)) {
      Thread.sleep(300);
    }
    String log = bytes.toString(StandardCharsets.UTF_8);
    assertFalse(log.contains("\r"), log);
    List<String> lines = log.lines().toList();
    assertTrue(lines.size() >= 2, log);
    for (String l : lines) {
      assertTrue(l.matches("\\[quantize] 3/12 units \\(25\\.0%\\)  300/1,200 blocks  [0-9,.]+ blocks/s  elapsed \\d+s"
          + "  ETA \\S+  1 failed"), l);
    }
  }

  @Test
  void theBarIsFilledByTheWorkDone() {
    AtomicLong items = new AtomicLong(15);
    try (Progress p = new Progress("eval", "items", 60, items::get, null, 0, null, null, 0, System.out)) {
      String bar = p.line(true);
      // 15 of 60 items: a quarter of the 24 marks
      assertTrue(bar.startsWith("[eval] [######..................]  15/60 items  "), bar);
      assertFalse(bar.contains("failed"), bar);
      assertEquals(-1, bar.indexOf('\r'), bar);
      assertTrue(p.line(false).startsWith("[eval] 15/60 items (25.0%)  "), p.line(false));
    }
  }
}
