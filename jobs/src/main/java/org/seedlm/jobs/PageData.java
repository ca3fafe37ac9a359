package org.seedlm.jobs;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.seedlm.pipeline.report.HtmlReport;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunSpec;
import org.seedlm.pipeline.run.RunStatus;

/**
 * The data of the HTML page of {@code report --html} and {@code errors --html}: one JSON object (fields in
 * {@link HtmlReport}'s Javadoc), filled run by run from the views {@link ErrorsJob#registerViews} registers,
 * with the same queries as the text tables ({@link ErrorsJob#SUMMARY_SQL}, {@link ErrorsJob#tableSql}).
 */
final class PageData {
  /** Blocks per 0.1 decade of relative error; blocks with no error (or all-zero weights) have no bin. */
  static final String BLOCK_ERROR_SQL = "SELECT FLOOR(10 * LOG10(SQRT(sq_err / sq_norm))) / 10 AS bin, "
      + "COUNT(*) AS blocks FROM blocks WHERE sq_err > 0 AND sq_norm > 0 GROUP BY 1 ORDER BY 1";
  /** Blocks per SeedLM shared exponent (other codecs have none). */
  static final String EXPONENT_SQL = "SELECT exponent, COUNT(*) AS blocks FROM blocks WHERE exponent IS NOT NULL "
      + "GROUP BY exponent ORDER BY exponent";

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  private final ObjectNode root = JSON.createObjectNode();

  PageData(String title, String subtitle) {
    root.put("title", title);
    root.put("subtitle", subtitle);
    for (String list : List.of("runs", "layers", "tensors", "block_errors", "exponents")) {
      root.putArray(list);
    }
  }

  /**
   * Adds the run whose views are registered now: its facts, summary, per-layer and per-tensor errors and
   * histograms. {@code kl} is null when the run was not evaluated; {@code verify} and {@code gate} are the
   * results as the text table shows them.
   */
  void addRun(SparkSession spark, String runDir, String verify, String gate, Double kl) throws IOException {
    addRun(spark, runDir, null, verify, gate, kl);
  }

  /**
   * As above, with the packed model's exact bits per weight (format version 2's offsets included); null: the
   * block codes' bits from the {@code blocks} view.
   */
  void addRun(SparkSession spark, String runDir, Double bitsPerWeight, String verify, String gate, Double kl)
      throws IOException {
    RunDirectory rd = RunDirectory.at(runDir, spark.sparkContext().hadoopConfiguration());
    RunSpec spec = rd.readSpec();
    RunStatus st = RunStatus.of(rd);
    Row summary = spark.sql(ErrorsJob.SUMMARY_SQL).first();
    ObjectNode run = ((ArrayNode) root.get("runs")).addObject();
    run.put("codec", spec.codec());
    run.put("run", runDir);
    run.put("model", spec.model());
    run.put("fingerprint", spec.modelFingerprint());
    run.put("units", st.units());
    run.put("committed", st.committed());
    run.put("failed", st.failed());
    run.put("blocks", st.blocks());
    run.put("blocks_per_second", st.blocksPerSecond());
    run.put("bits_per_weight", bitsPerWeight != null ? bitsPerWeight : summary.getDouble(0));
    run.put("median_rel_error", summary.getDouble(1));
    run.put("worst_rel_error", summary.getDouble(2));
    if (kl != null) {
      run.put("kl", kl);
    }
    run.put("verify", verify);
    run.put("gate", gate);
    addRows("layers", spark, ErrorsJob.LAYER_KIND_SQL, spec.codec());
    addRows("tensors", spark, ErrorsJob.tableSql("tensor"), spec.codec());
    addRows("block_errors", spark, BLOCK_ERROR_SQL, spec.codec());
    addRows("exponents", spark, EXPONENT_SQL, spec.codec());
  }

  /** The report's comparison table, cell by cell: its header and text lines split at runs of blanks. */
  void comparison(String header, List<String> lines) {
    ObjectNode c = root.putObject("comparison");
    ArrayNode h = c.putArray("header");
    for (String cell : header.trim().split("\\s+")) {
      h.add(cell);
    }
    ArrayNode rows = c.putArray("rows");
    for (String line : lines) {
      ArrayNode row = rows.addArray();
      for (String cell : line.trim().split("\\s+")) {
        row.add(cell);
      }
    }
  }

  JsonNode json() {
    return root;
  }

  /** Writes the page to any Hadoop path. */
  void write(SparkSession spark, String file) throws IOException {
    HtmlReport.write(root, new Path(file), spark.sparkContext().hadoopConfiguration());
  }

  private void addRows(String list, SparkSession spark, String sql, String codec) throws IOException {
    ArrayNode out = (ArrayNode) root.get(list);
    for (String line : spark.sql(sql).toJSON().collectAsList()) {
      ObjectNode row = out.addObject();
      row.put("codec", codec);
      row.setAll((ObjectNode) JSON.readTree(line));
    }
  }
}
