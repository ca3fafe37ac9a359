package org.seedlm.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The page is self-contained and its data survives any text: no external resource, ECharts inlined from the
 * webjar, and a tensor name holding markup stays data. (Drawing is checked in a browser by the jobs tests.)
 */
class HtmlReportTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void thePageLoadsNothingFromOutsideAndKeepsMarkupInDataAsData() throws Exception {
    ObjectNode page = JSON.createObjectNode();
    String hostile = "</script><script>alert(1)</script><!--";
    page.put("title", "t <b>&");
    page.putArray("runs");
    page.putArray("layers");
    page.putArray("block_errors");
    page.putArray("exponents");
    page.putArray("tensors").addObject().put("tensor", hostile);
    String html = HtmlReport.render(page);

    // nothing fetched at view time: the markup outside the inline scripts has no src or href and no link
    String markup = html.replaceAll("(?s)(<script[^>]*>).*?</script>", "$1</script>");
    assertFalse(Pattern.compile("\\b(src|href)=|<link", Pattern.CASE_INSENSITIVE).matcher(markup).find(),
        "an external resource in:\n" + markup);
    assertEquals("5.3.1", HtmlReport.echartsVersion()); // the webjar the pom pins
    assertTrue(html.contains("/* Apache ECharts 5.3.1, Apache License 2.0"), "ECharts inlined");
    assertTrue(html.contains("<title>t &lt;b&gt;&amp;</title>"), "title escaped");

    // the data element is closed only once, and its JSON reads back to the same object
    Matcher m = Pattern.compile("<script type=\"application/json\" id=\"seedlm-data\">(.*?)</script>",
        Pattern.DOTALL).matcher(html);
    assertTrue(m.find(), "no data element");
    assertFalse(m.group(1).contains("<"), "a '<' inside the data element");
    assertEquals(page, JSON.readTree(m.group(1)));
    // every script element opened is closed by its own end tag: the hostile name did not close one early
    assertEquals(count(html, "<script"), count(html, "</script>"));
    assertEquals(4, count(html, "</script>")); // errors.js, ECharts, the data, report.js
  }

  private static int count(String s, String what) {
    int n = 0;
    for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + what.length())) {
      n++;
    }
    return n;
  }
}
