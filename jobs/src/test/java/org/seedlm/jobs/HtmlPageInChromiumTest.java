package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code errors --html} on a real SeedLM run of layers 0 and 1's query projections of BERT-base, opened in
 * headless Chromium: the page loads without a script or console error, draws every chart as a non-empty SVG
 * and shows the text table's rows. Its screenshot is kept in target/html-report/errors.png. ReportGateTest
 * checks {@code report --html} the same way with these helpers (target/html-report/report.png).
 */
class HtmlPageInChromiumTest extends SparkTestBase {

  private static final List<String> QUERY01 = List.of("layer\\.[01]\\.attention\\.self\\.query\\.weight$");
  static final Path PAGES = Paths.get("target/html-report");

  /** Chromium, or null where none is installed and CI is not set (in CI a missing one fails the test). */
  static HeadlessChromium chromium() {
    HeadlessChromium c = HeadlessChromium.find(PAGES.resolve("chromium"));
    assertTrue(c != null || System.getenv("CI") == null,
        "CI is set but no chromium is on the PATH: .ci/run installs it");
    return c;
  }

  static final String NO_CHROMIUM = "no chromium on the PATH (apt-get install chromium): HTML page not checked";

  @Test
  void errorsPageDrawsEveryChartInChromium(@TempDir Path tmp) throws Exception {
    HeadlessChromium chromium = chromium();
    Assumptions.assumeTrue(chromium != null, NO_CHROMIUM);
    String run = tmp.resolve("seedlm-run").toString();
    QuantizeJob.Result q = QuantizeJob.run(spark, new QuantizeJob.Options(bert.toString(), run, "seedlm-c8-p3-k8",
        QUERY01, List.of(), 16384, "fail", "fast", java.util.Set.of(), 0), OUT);
    assertTrue(q.failures().isEmpty(), q.failures()::toString);

    Path html = tmp.resolve("errors.html");
    String[] e = CliRun.run("errors", "--run", run, "--by", "tensor", "--master", "local[2]",
        "--html", html.toString());
    assertEquals("0", e[0], e[1] + e[2]);
    String dom = load(chromium, html);
    // one run, not evaluated: the median-error Pareto plot, kind q, two histograms (block errors, exponents)
    assertCharts(dom, 1 + 1 + 2);
    assertEquals(2, count(dom, "<td class=\"text\">bert.encoder.layer."), "tensor rows");
    assertTrue(dom.contains("SeedLM shared exponents"), "exponent histogram of the SeedLM run");
    for (String t : List.of("bert.encoder.layer.0.attention.self.query.weight",
        "bert.encoder.layer.1.attention.self.query.weight")) {
      String line = e[1].lines().filter(l -> l.startsWith(t)).findFirst().orElseThrow();
      String[] f = line.trim().split("\\s+"); // tensor layer kind blocks weights bits/w rel_error ...
      // its first cells, in order, after the codec (the page writes 73,728 for 73728)
      assertTrue(text(dom).replace(",", "").contains("seedlm-c8-p3-k8" + f[0] + f[1] + f[2] + f[3]), line);
    }
    screenshot(chromium, html, "errors");
  }

  /** Saves a screenshot of a page's top 1400 x 1500 pixels, and the page, under target/html-report/. */
  static void screenshot(HeadlessChromium chromium, Path html, String name) throws Exception {
    Path png = PAGES.resolve(name + ".png");
    chromium.screenshot(html, png, 1400, 1500);
    assertTrue(Files.size(png) > 10_000, "screenshot " + png + " is " + Files.size(png) + " bytes");
    Files.copy(html, PAGES.resolve(name + ".html"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** The page's DOM after load, checked for script and console errors. */
  static String load(HeadlessChromium chromium, Path page) throws Exception {
    HeadlessChromium.Output o = chromium.dumpDom(page);
    assertTrue(o.stdout().contains("id=\"seedlm-report\""), "no page in chromium's output:\n" + o.log());
    String errors = attribute(o.stdout(), "data-seedlm-errors");
    assertNull(errors, () -> "script errors: " + errors + "\n" + o.log());
    List<String> console = o.log().lines().filter(l -> l.contains("CONSOLE")).toList();
    assertTrue(console.isEmpty(), () -> "console messages:\n" + String.join("\n", console));
    return o.stdout();
  }

  /** The page says it drew {@code expected} charts, and each chart's box holds an SVG with drawn paths. */
  static void assertCharts(String dom, int expected) {
    String drawn = attribute(dom, "data-seedlm-charts");
    assertNotNull(drawn, "the page never finished drawing");
    assertEquals(expected, Integer.parseInt(drawn), "charts drawn");
    String[] boxes = dom.split("<div class=\"chart\"", -1);
    assertEquals(expected, boxes.length - 1, "chart boxes");
    for (int i = 1; i < boxes.length; i++) {
      String box = boxes[i];
      int end = box.indexOf("</svg>");
      assertTrue(box.contains("<svg") && end > 0, "chart " + i + " has no SVG");
      String svg = box.substring(box.indexOf("<svg"), end);
      assertTrue(count(svg, "<path") >= 2, "chart " + i + " is almost empty: " + svg.substring(0, Math.min(300,
          svg.length())));
    }
  }

  private static String attribute(String dom, String name) {
    Matcher m = Pattern.compile(name + "=\"([^\"]*)\"").matcher(dom);
    return m.find() ? m.group(1) : null;
  }

  /** The visible text of the page's tables, without tags or blanks. */
  static String text(String dom) {
    return dom.replaceAll("<[^>]*>", "").replaceAll("\\s+", "");
  }

  static int count(String s, String what) {
    int n = 0;
    for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + what.length())) {
      n++;
    }
    return n;
  }
}
