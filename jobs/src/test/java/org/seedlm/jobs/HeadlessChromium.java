package org.seedlm.jobs;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code chromium} run headless on a local page: the DOM after the page's scripts ran
 * ({@code --dump-dom}), and a screenshot. Its output goes to files, never to the test JVM's stdout.
 */
final class HeadlessChromium {
  private static final List<String> NAMES = List.of("chromium", "chromium-browser", "google-chrome");
  private static final long TIMEOUT_SECONDS = 60;

  private final Path binary;
  private final Path logs;

  private HeadlessChromium(Path binary, Path logs) {
    this.binary = binary;
    this.logs = logs;
  }

  /** The first Chromium on the PATH, or null. */
  static HeadlessChromium find(Path logs) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      for (String name : NAMES) {
        Path p = Path.of(dir, name);
        if (Files.isExecutable(p)) {
          return new HeadlessChromium(p, logs);
        }
      }
    }
    return null;
  }

  /** What one run printed: the DOM (or nothing) and Chromium's own log, console messages included. */
  record Output(String stdout, String log) {}

  /** The page's DOM once its scripts ran. */
  Output dumpDom(Path page) throws IOException, InterruptedException {
    return run("dom", page, "--dump-dom");
  }

  /** A PNG of the page's top {@code width x height} pixels. */
  Output screenshot(Path page, Path png, int width, int height) throws IOException, InterruptedException {
    return run("screenshot", page, "--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height,
        "--hide-scrollbars");
  }

  private Output run(String what, Path page, String... args) throws IOException, InterruptedException {
    Files.createDirectories(logs);
    Path out = logs.resolve(what + ".out");
    Path err = logs.resolve(what + ".log");
    Path profile = Files.createTempDirectory(logs, "profile-");
    List<String> cmd = new ArrayList<>(List.of(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--no-first-run", "--disable-extensions", "--disable-background-networking", "--enable-logging=stderr",
        "--v=0", "--user-data-dir=" + profile.toAbsolutePath(), "--virtual-time-budget=10000"));
    cmd.addAll(List.of(args));
    cmd.add(page.toAbsolutePath().toUri().toString());
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    p.getOutputStream().close();
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      throw new AssertionError("chromium did not finish in " + TIMEOUT_SECONDS + " s: " + cmd + "; log: " + err);
    }
    String log = Files.readString(err, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new AssertionError("chromium exited " + p.exitValue() + ": " + cmd + "\n" + log);
    }
    return new Output(Files.readString(out, StandardCharsets.UTF_8), log);
  }
}
