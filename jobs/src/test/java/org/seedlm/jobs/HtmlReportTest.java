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
 * {@code errors --html} and {@code report --html} on real runs of layers 0 and 1's query projections of
 * BERT-base (a SeedLM run for {@code errors}, an RTN run evaluated by {@code report}), opened in headless
 * Chromium: each page loads without a script or console error, draws every chart as a non-empty SVG and shows
 * the text tables' rows. Screenshots are kept in target/html-report/ (report.png, errors.png).
 */
class HtmlReportTest extends SparkTestBase {

  private static final List<String> QUERY01 = List.of("layer\\.[01]\\.attention\\.self\\.query\\.weight$");
  private static final String SEEDLM = "seedlm-c8-p3-k8";
  private static final String RTN = "rtn-sym-b4-g128";
  private static final Path PAGES = Paths.get("target/html-report");

  @Test
  void errorsAndReportPagesDrawEveryChartInChromium(@TempDir Path tmp) throws Exception {
    HeadlessChromium chromium = HeadlessChromium.find(PAGES.resolve("chromium"));
    if (chromium == null) {
      assertTrue(System.getenv("CI") == null, "CI is set but no chromium is on the PATH: .ci/run installs it");
      Assumptions.assumeTrue(false, "no chromium on the PATH (apt-get install chromium): HTML page not checked");
    }
    String run = tmp.resolve("seedlm-run").toString();
    QuantizeJob.Result q = QuantizeJob.run(spark, new QuantizeJob.Options(bert.toString(), run, SEEDLM, QUERY01,
        List.of(), 16384, "fail", "fast", java.util.Set.of(), 0), OUT);
    assertTrue(q.failures().isEmpty(), q.failures()::toString);

    // errors --html: one run, not evaluated: the median-error Pareto plot, kind q, two histograms
    Path errorsHtml = tmp.resolve("errors.html");
    String[] e = CliRun.run("errors", "--run", run, "--by", "tensor", "--master", "local[2]",
        "--html", errorsHtml.toString());
    assertEquals("0", e[0], e[1] + e[2]);
    String edom = load(chromium, errorsHtml);
    assertCharts(edom, 1 + 1 + 2);
    assertEquals(2, count(edom, "<td class=\"text\">bert.encoder.layer."), "tensor rows");
    assertTrue(edom.contains("SeedLM shared exponents"), "exponent histogram of the SeedLM run");
    for (String t : List.of("bert.encoder.layer.0.attention.self.query.weight",
        "bert.encoder.layer.1.attention.self.query.weight")) {
      String line = e[1].lines().filter(l -> l.startsWith(t)).findFirst().orElseThrow();
      String[] f = line.trim().split("\\s+"); // tensor layer kind blocks weights bits/w rel_error ...
      assertTrue(edom.contains(f[0]) && text(edom).contains(f[3].replace(",", "")), line);
    }
    chromium.screenshot(errorsHtml, PAGES.resolve("errors.png"), 1400, 1500);

    // report --html: the RTN run quantized, assembled, verified and evaluated; KL and median-error plots
    Path brown = ReportGateTest.brownCache();
    Path work = tmp.resolve("work");
    Files.createDirectories(work.resolve("models"));
    Files.createSymbolicLink(work.resolve("models/bert-base-uncased"), Paths.get(bert.toString()).toAbsolutePath());
    Path reportHtml = tmp.resolve("report.html");
    String[] r = CliRun.run("report", "--work", work.toString(), "--codecs", RTN, "--include", QUERY01.get(0),
        "--items", "6", "--brown", brown.toString(), "--master", "local[2]", "--html", reportHtml.toString());
    assertTrue(r[0].equals("0") || r[0].equals("4"), r[1] + r[2]); // 4: the gate failed; the page is written
    assertTrue(r[1].contains("[report] wrote " + reportHtml), r[1]);
    String dom = load(chromium, reportHtml);
    assertCharts(dom, 2 + 1 + 2);
    // the comparison table holds the text table's row cell by cell
    String row = r[1].lines().filter(l -> l.startsWith(RTN)).findFirst().orElseThrow();
    assertTrue(text(dom).contains(String.join("", row.trim().split("\\s+"))), "row not on the page: " + row);
    assertEquals(2, count(dom, "<td class=\"text\">bert.encoder.layer."), "tensor rows");
    assertTrue(dom.contains("Shared exponents (none: no SeedLM codec)"), "RTN has no exponents");

    Path png = PAGES.resolve("report.png");
    chromium.screenshot(reportHtml, png, 1400, 1500);
    assertTrue(Files.size(png) > 10_000, "screenshot " + png + " is " + Files.size(png) + " bytes");
    Files.copy(reportHtml, PAGES.resolve("report.html"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** The page's DOM after load, checked for script and console errors. */
  private static String load(HeadlessChromium chromium, Path page) throws Exception {
    HeadlessChromium.Output o = chromium.dumpDom(page);
    assertTrue(o.stdout().contains("id=\"seedlm-report\""), "no page in chromium's output:\n" + o.log());
    String errors = attribute(o.stdout(), "data-seedlm-errors");
    assertNull(errors, () -> "script errors: " + errors + "\n" + o.log());
    List<String> console = o.log().lines().filter(l -> l.contains("CONSOLE")).toList();
    assertTrue(console.isEmpty(), () -> "console messages:\n" + String.join("\n", console));
    return o.stdout();
  }

  /** The page says it drew {@code expected} charts, and each chart's box holds an SVG with drawn paths. */
  private static void assertCharts(String dom, int expected) {
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
  private static String text(String dom) {
    return dom.replaceAll("<[^>]*>", "").replaceAll("\\s+", "");
  }

  private static int count(String s, String what) {
    int n = 0;
    for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + what.length())) {
      n++;
    }
    return n;
  }
}
