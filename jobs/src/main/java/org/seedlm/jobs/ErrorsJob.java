package org.seedlm.jobs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.seedlm.pipeline.BadInputException;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.seedlm.pipeline.run.BlockFields;
import org.seedlm.pipeline.run.BlockTable;
import org.seedlm.pipeline.run.CommitMarker;
import org.seedlm.pipeline.run.RunDirectory;

/**
 * Error tables of a run, in Spark SQL. Two views are registered:
 * <ul>
 *   <li>{@code blocks}: one row per encoded block of every committed unit (tensor, layer, kind, unit,
 *       block, codec, seed, exponent, mantissas, code, n, bits, sq_err, sq_norm, max_abs_err; seed, exponent and
 *       mantissas derived from code); for a tensor-level codec one row per tensor, block 0, whose code is the
 *       encoded tensor and bits its length (seed, exponent, mantissas null);</li>
 *   <li>{@code units}: one row per commit marker (unit, tensor, rows, weights, sq_err, sq_norm,
 *       max_abs_err, seconds, ...).</li>
 * </ul>
 * Files of uncommitted or duplicate attempts are never read.
 */
public final class ErrorsJob {
  private ErrorsJob() {}

  /** The grouping tables {@code errors} prints by default. */
  public static final List<String> TABLES = List.of("layer", "kind", "tensor");

  private static final String AGGREGATES = "COUNT(*) AS blocks, SUM(n) AS weights, "
      + "ROUND(SUM(bits) / SUM(n), 4) AS bits_per_weight, " // block codes only; SeedLM v2 adds 8 / (G * C)
      + "SQRT(SUM(sq_err) / SUM(sq_norm)) AS rel_error, "
      + "10 * LOG10(SUM(sq_norm) / SUM(sq_err)) AS snr_db, "
      + "MAX(max_abs_err) AS max_abs_error";

  /**
   * One run in one row, as the report's comparison table shows it: bits per weight, and the median and worst
   * of the tensors' relative errors.
   */
  public static final String SUMMARY_SQL = "SELECT SUM(b) / SUM(n) AS bpw, PERCENTILE(rel, 0.5) AS med, "
      + "MAX(rel) AS worst FROM (SELECT tensor, SUM(bits) AS b, SUM(n) AS n, SQRT(SUM(sq_err) / SUM(sq_norm)) AS rel "
      + "FROM blocks GROUP BY tensor)";

  /** The standard aggregates per layer and kind (the HTML page's per-layer lines). */
  public static final String LAYER_KIND_SQL = "SELECT layer, kind, " + AGGREGATES
      + " FROM blocks GROUP BY layer, kind ORDER BY layer, kind";

  /** The SQL of a standard table grouped by {@code by} (layer, kind, tensor or all). */
  public static String tableSql(String by) {
    return switch (by) {
      case "layer" -> "SELECT layer, " + AGGREGATES + " FROM blocks GROUP BY layer ORDER BY layer";
      case "kind" -> "SELECT kind, " + AGGREGATES + " FROM blocks GROUP BY kind ORDER BY kind";
      case "tensor" -> "SELECT tensor, layer, kind, " + AGGREGATES
          + " FROM blocks GROUP BY tensor, layer, kind ORDER BY layer, tensor";
      case "all" -> "SELECT codec, " + AGGREGATES + " FROM blocks GROUP BY codec";
      default -> throw new BadInputException(String.format(
          "Cannot print table by \"%s\": expected layer, kind, tensor or all (set --by)", by));
    };
  }

  /** Registers the {@code blocks} and {@code units} views of a run. */
  public static void registerViews(SparkSession spark, String runDir) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    RunDirectory run = RunDirectory.at(runDir, conf);
    Map<Integer, CommitMarker> commits = run.readCommits();
    if (commits.isEmpty()) {
      throw new BadInputException(String.format(
          "Cannot show errors of %s: no unit is committed yet (run `seedlm quantize` first)", runDir));
    }
    List<String> files = new ArrayList<>();
    for (CommitMarker m : commits.values()) {
      files.add(run.path(m.file()).toString());
    }
    Dataset<Row> stored = spark.read().parquet(files.toArray(new String[0]));
    int layout = run.readSpec().version();
    Dataset<Row> blocks = layout == 1 ? stored : derivedColumns(spark, stored, run.readSpec().codec());
    blocks.createOrReplaceTempView("blocks");
    Dataset<Row> units = spark.createDataFrame(new ArrayList<>(commits.values()), CommitMarker.class);
    units.createOrReplaceTempView("units");
    offsetsView(spark, run.readSpec().groupBlocks(), commits).createOrReplaceTempView("offsets");
  }

  /**
   * The {@code offsets} view: one row per exponent-offset group of SeedLM format version 2 (tensor, unit,
   * group index within the tensor, its first block, offset), from the commit markers; empty in version 1.
   */
  static Dataset<Row> offsetsView(SparkSession spark, int groupBlocks, Map<Integer, CommitMarker> commits) {
    List<Row> rows = new ArrayList<>();
    for (CommitMarker m : commits.values()) {
      int[] o = m.offsetArray();
      for (int i = 0; i < o.length; i++) {
        long first = m.firstBlock() + (long) i * groupBlocks;
        rows.add(org.apache.spark.sql.RowFactory.create(m.tensor(), m.unit(), first / groupBlocks, first, o[i]));
      }
    }
    org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
        .add("tensor", org.apache.spark.sql.types.DataTypes.StringType)
        .add("unit", org.apache.spark.sql.types.DataTypes.IntegerType)
        .add("group_index", org.apache.spark.sql.types.DataTypes.LongType)
        .add("first_block", org.apache.spark.sql.types.DataTypes.LongType)
        .add("offset", org.apache.spark.sql.types.DataTypes.IntegerType);
    return spark.createDataFrame(rows, schema);
  }

  /**
   * The {@code blocks} view over block tables of layout 2 ({@link BlockTable}): seed, exponent and mantissas read
   * from {@code code} by the codec ({@link BlockFields}), the FLOAT errors as DOUBLE, the columns in the order of
   * layout 1. Spark 4.2's vectorized Parquet reader cannot decode BYTE_STREAM_SPLIT (the errors' encoding), so
   * the session reads Parquet with parquet-mr's reader.
   */
  private static Dataset<Row> derivedColumns(SparkSession spark, Dataset<Row> stored, String codec) {
    spark.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
    BlockFields fields = new BlockFields(codec);
    spark.udf().register("seedlm_seed", (UDF1<byte[], Integer>) fields::seed, DataTypes.IntegerType);
    spark.udf().register("seedlm_exponent", (UDF1<byte[], Integer>) fields::exponent, DataTypes.IntegerType);
    spark.udf().register("seedlm_mantissas", (UDF1<byte[], List<Integer>>) fields::mantissas,
        DataTypes.createArrayType(DataTypes.IntegerType, false));
    return stored.selectExpr("tensor", "layer", "kind", "unit", "block", "codec", "seedlm_seed(code) AS seed",
        "seedlm_exponent(code) AS exponent", "seedlm_mantissas(code) AS mantissas", "code", "n", "bits",
        "CAST(sq_err AS DOUBLE) AS sq_err", "CAST(sq_norm AS DOUBLE) AS sq_norm",
        "CAST(max_abs_err AS DOUBLE) AS max_abs_err");
  }

  /**
   * Runs a query the user typed. A query Spark cannot parse or resolve (a syntax error, an unknown column or
   * table) is bad input: its message, Spark's own, says where and lists what is available.
   */
  public static Dataset<Row> query(SparkSession spark, String sql) {
    try {
      return spark.sql(sql);
    } catch (Exception e) { // Scala throws the checked AnalysisException (ParseException is one) undeclared
      if (e instanceof AnalysisException) {
        throw new BadInputException("Cannot run the --sql query over the views blocks and units:\n"
            + e.getMessage().strip(), e);
      }
      throw e;
    }
  }

  /** Refuses an unknown output format before any work is done. */
  public static void checkFormat(String format) {
    if (!List.of("text", "csv", "json").contains(format)) {
      throw new BadInputException(String.format(
          "Cannot write format \"%s\": expected text, csv or json (set --format)", format));
    }
  }

  /** Formats rows as an aligned text table, CSV or JSON lines. */
  public static String format(Dataset<Row> df, String format) {
    String[] cols = df.columns();
    List<Row> rows = df.collectAsList();
    StringBuilder sb = new StringBuilder();
    switch (format) {
      case "json" -> {
        for (String line : df.toJSON().collectAsList()) {
          sb.append(line).append('\n');
        }
      }
      case "csv" -> {
        sb.append(String.join(",", cols)).append('\n');
        for (Row r : rows) {
          List<String> cells = new ArrayList<>();
          for (int i = 0; i < cols.length; i++) {
            cells.add(csv(r.isNullAt(i) ? "" : cell(r.get(i))));
          }
          sb.append(String.join(",", cells)).append('\n');
        }
      }
      case "text" -> {
        List<String[]> cells = new ArrayList<>();
        cells.add(cols);
        for (Row r : rows) {
          String[] c = new String[cols.length];
          for (int i = 0; i < cols.length; i++) {
            c[i] = text(r.isNullAt(i) ? null : r.get(i));
          }
          cells.add(c);
        }
        int[] width = new int[cols.length];
        for (String[] c : cells) {
          for (int i = 0; i < c.length; i++) {
            width[i] = Math.max(width[i], c[i].length());
          }
        }
        for (int k = 0; k < cells.size(); k++) {
          String[] c = cells.get(k);
          StringBuilder line = new StringBuilder();
          for (int i = 0; i < c.length; i++) {
            boolean numeric = k > 0 && rows.get(k - 1).get(i) instanceof Number;
            String f = numeric ? "%" + width[i] + "s" : "%-" + width[i] + "s";
            line.append(i == 0 ? "" : "  ").append(String.format(f, c[i]));
          }
          sb.append(line.toString().stripTrailing()).append('\n');
          if (k == 0) {
            int total = 0;
            for (int wd : width) {
              total += wd + 2;
            }
            sb.append("-".repeat(Math.max(0, total - 2))).append('\n');
          }
        }
      }
      default -> throw new BadInputException(String.format(
          "Cannot write format \"%s\": expected text, csv or json (set --format)", format));
    }
    return sb.toString();
  }

  private static String text(Object v) {
    if (v == null) {
      return "";
    }
    if (v instanceof Double d) {
      if (d.isInfinite() || d.isNaN()) {
        return d.toString();
      }
      double a = Math.abs(d);
      return a != 0 && (a < 1e-3 || a >= 1e6) ? String.format(Locale.ROOT, "%.4e", d)
          : String.format(Locale.ROOT, "%.5f", d);
    }
    if (v instanceof Long || v instanceof Integer) {
      return String.format(Locale.ROOT, "%d", v);
    }
    return cell(v);
  }

  /**
   * One value as CSV and text cells show it: arrays and maps as JSON ({@code [-2,0,-7]}), which
   * spreadsheets show as written and pandas, DuckDB or any JSON parser read back; everything else as its
   * string.
   */
  static String cell(Object v) {
    if (v instanceof scala.collection.Seq<?> || v instanceof scala.collection.Map<?, ?> || v instanceof Row) {
      try {
        return JSON.writeValueAsString(javaValue(v));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException("cannot write " + v + " as JSON", e);
      }
    }
    return String.valueOf(v);
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** Spark's Scala collections and nested rows as Java lists and maps. */
  private static Object javaValue(Object v) {
    if (v instanceof scala.collection.Seq<?> seq) {
      List<Object> out = new ArrayList<>();
      scala.collection.Iterator<?> it = seq.iterator();
      while (it.hasNext()) {
        out.add(javaValue(it.next()));
      }
      return out;
    }
    if (v instanceof scala.collection.Map<?, ?> map) {
      Map<String, Object> out = new java.util.LinkedHashMap<>();
      scala.collection.Iterator<? extends scala.Tuple2<?, ?>> it = map.iterator();
      while (it.hasNext()) {
        scala.Tuple2<?, ?> kv = it.next();
        out.put(String.valueOf(kv._1()), javaValue(kv._2()));
      }
      return out;
    }
    if (v instanceof Row row) {
      Map<String, Object> out = new java.util.LinkedHashMap<>();
      String[] names = row.schema() == null ? null : row.schema().fieldNames();
      for (int i = 0; i < row.length(); i++) {
        out.put(names == null ? "_" + (i + 1) : names[i], javaValue(row.get(i)));
      }
      return out;
    }
    return v;
  }

  private static String csv(String s) {
    return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }
}
