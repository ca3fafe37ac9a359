package org.seedlm.jobs;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the CLI in-process for tests and captures what it prints. */
public final class CliRun {
  private CliRun() {}

  /** {rc, stdout, stderr} of {@code seedlm args...}; stdout is echoed to the test log afterwards. */
  public static String[] run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int rc = Cli.run(args);
      return new String[] {Integer.toString(rc), out.toString(StandardCharsets.UTF_8),
          err.toString(StandardCharsets.UTF_8)};
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
      System.out.print(out.toString(StandardCharsets.UTF_8));
    }
  }
}
