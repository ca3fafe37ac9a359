package org.seedlm.pipeline.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Renders the page data of {@code seedlm report --html} and {@code seedlm errors --html} as one self-contained
 * HTML file: Apache ECharts' browser bundle (read from its webjar on the classpath), the page script and style
 * and the data, all inline, so the file opens anywhere without network. Charts use ECharts' SVG renderer.
 *
 * <p>The data is one JSON object (built by the jobs from the same queries as the text tables):
 * <pre>
 * title, subtitle          strings
 * comparison               {header: [..], rows: [[..], ..]} or absent (the report's text table, cell by cell)
 * runs                     [{codec, run, model, fingerprint, units, committed, failed, blocks, blocks_per_second,
 *                            bits_per_weight, median_rel_error, worst_rel_error, kl (or absent), verify, gate}]
 * layers                   [{codec, layer, kind, rel_error, ..}]       one per codec, layer and kind
 * tensors                  [{codec, tensor, layer, kind, blocks, weights, bits_per_weight, rel_error, ..}]
 * block_errors             [{codec, bin, blocks}]   bin: floor(10 log10 of a block's relative error) / 10
 * exponents                [{codec, exponent, blocks}]
 * </pre>
 * When every chart is drawn the page sets {@code data-seedlm-charts} (their count) on {@code <html>}; any
 * script error or {@code console.error} sets {@code data-seedlm-errors}.
 */
public final class HtmlReport {
  private HtmlReport() {}

  private static final String ECHARTS_POM = "META-INF/maven/org.webjars.npm/echarts/pom.properties";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The ECharts version on the classpath (the webjar's own pom.properties). */
  public static String echartsVersion() {
    Properties p = new Properties();
    try (InputStream in = resource(ECHARTS_POM)) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p.getProperty("version");
  }

  /** The whole page. */
  public static String render(JsonNode page) {
    String title = page.path("title").asText("seedlm report");
    String echarts = text("META-INF/resources/webjars/echarts/" + echartsVersion() + "/dist/echarts.min.js");
    StringBuilder sb = new StringBuilder(echarts.length() + 64 * 1024);
    sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
        .append(escape(title)).append("</title>\n")
        .append("<script>\n").append(text("org/seedlm/pipeline/report/errors.js")).append("</script>\n")
        .append("<style>\n").append(text("org/seedlm/pipeline/report/report.css")).append("</style>\n")
        .append("<script>\n/* Apache ECharts ").append(echartsVersion())
        .append(", Apache License 2.0, https://echarts.apache.org */\n").append(scriptSafe(echarts))
        .append("\n</script>\n</head>\n<body>\n<main id=\"seedlm-report\"></main>\n")
        .append("<script type=\"application/json\" id=\"seedlm-data\">").append(json(page)).append("</script>\n")
        .append("<script>\n").append(text("org/seedlm/pipeline/report/report.js")).append("</script>\n")
        .append("</body>\n</html>\n");
    return sb.toString();
  }

  /** Writes the page to any Hadoop path, replacing it. */
  public static void write(JsonNode page, Path out, Configuration conf) throws IOException {
    byte[] bytes = render(page).getBytes(StandardCharsets.UTF_8);
    try (OutputStream os = out.getFileSystem(conf).create(out, true)) {
      os.write(bytes);
    }
  }

  /** JSON text safe inside a script element: a '<' occurs only inside JSON strings, where \u003c is the same. */
  static String json(JsonNode page) {
    try {
      return JSON.writeValueAsString(page).replace("<", "\\u003c");
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot write the page data as JSON", e);
    }
  }

  /** A script's text that cannot close its element early. */
  private static String scriptSafe(String js) {
    return js.replace("</script", "<\\/script");
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static String text(String name) {
    try (InputStream in = resource(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static InputStream resource(String name) {
    InputStream in = HtmlReport.class.getClassLoader().getResourceAsStream(name);
    if (in == null) {
      throw new IllegalStateException("cannot find " + name + " on the classpath (the build puts it there)");
    }
    return in;
  }
}
