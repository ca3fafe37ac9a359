package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.metrics.ErrorStats;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.IncompleteRunException;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunMismatchException;
import org.seedlm.pipeline.run.RunStatus;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * Quantize, resume, assemble and errors in local[2] on real BERT-base layers. SeedLM runs with a
 * small register (K = 8, 255 seeds) so the exact search over 150k blocks stays quick in CI; the
 * code path is the same as for K = 16.
 */
class QuantizeJobTest extends SparkTestBase {

  static final String CODEC = "seedlm-c8-p3-k8";
  /** Layer 0's query and key projections: 2 x 589,824 weights, 147,456 blocks. */
  static final List<String> LAYER0_QK = List.of("layer\\.0\\.attention\\.self\\.(query|key)\\.weight$");
  static final int UNIT_BLOCKS = 8192; // 9 units per tensor, 18 in all

  static QuantizeJob.Options options(String run, Set<Integer> failUnits) {
    return options(run, failUnits, "reference");
  }

  static QuantizeJob.Options options(String run, Set<Integer> failUnits, String kernel) {
    // rule nearest: the reference search scores 1 candidate per seed instead of best's 16 (the rules are
    // checked in the pipeline's tests); G = 4096 by default for these units of 8192 blocks
    return new QuantizeJob.Options(bert.toString(), run, CODEC, LAYER0_QK, List.of(), UNIT_BLOCKS, "fail",
        kernel, failUnits, 0, "nearest", null, "cpu", 0);
  }

  @Test
  void aTensorTooLargeForATensorCodecIsRefusedBeforeTheRunIsTouched(@TempDir java.nio.file.Path tmp) throws Exception {
    // a header-only checkpoint: one [65536, 32768] float32 tensor (2^31 weights) whose 8 GiB of data are a hole
    java.nio.file.Path model = Files.createDirectories(tmp.resolve("model"));
    String big = "model.layers.0.mlp.down_proj.weight";
    byte[] header = new org.seedlm.pipeline.safetensors.SafetensorsWriter().metadata("format", "pt")
        .add(big, org.seedlm.pipeline.safetensors.DType.F32, new long[] {65536, 32768}, out -> {
          throw new AssertionError("no weight is read");
        }).headerBytes();
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(model.resolve("model.safetensors").toFile(), "rw")) {
      f.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
      f.write(header);
      f.setLength(8 + header.length + (4L << 31));
    }
    java.nio.file.Path run = tmp.resolve("run");
    QuantizeJob.Options o = new QuantizeJob.Options(model.toString(), run.toString(), "int8-row", List.of(big),
        List.of(), UNIT_BLOCKS, "fail", "reference", Set.of(), 0);
    org.seedlm.pipeline.BadInputException e =
        assertThrows(org.seedlm.pipeline.BadInputException.class, () -> QuantizeJob.run(spark, o, OUT));
    assertTrue(e.getMessage().contains("Cannot quantize " + big + " with int8-row: it has 2,147,483,648 weights")
        && e.getMessage().contains("--exclude"), e.getMessage());
    assertFalse(Files.exists(run.resolve("run.json")), "the run directory is not touched");
  }

  @Test
  void quantizeAssembleAndErrorsMatchThePipelineCore(@TempDir java.nio.file.Path tmp) throws Exception {
    String run = tmp.resolve("run").toString();
    QuantizeJob.Result r = QuantizeJob.run(spark, options(run, Set.of()), OUT);
    assertEquals(18, r.plan().numUnits());
    assertEquals(18, r.pendingBefore());
    assertTrue(r.failures().isEmpty(), () -> r.failures().toString());
    AssembleJob.run(spark, run, 4L << 30, OUT);

    // The packed tensor decodes to exactly what the codec gives when run directly on the weights.
    BlockCodec codec = Codecs.parse(CODEC, java.util.Map.of("G", "4096", "coefficients", "nearest"));
    String q = "bert.encoder.layer.0.attention.self.query.weight";
    float[] w = new float[768 * 768];
    try (Checkpoint ck = Checkpoint.open(bert, new Configuration())) {
      ck.readFloats(q, 0, w.length, w, 0);
    }
    int blocks = w.length / 8;
    byte[] direct = new byte[(int) codec.packedBytes(blocks)];
    int[] offsets = codec.groupOffsets(w, 0, blocks); // 73,728 blocks: 18 groups of 4096, two per unit
    codec.encode(w, 0, blocks, offsets, direct, 0);
    float[] expected = new float[w.length];
    codec.decode(direct, 0, blocks, offsets, expected, 0);
    try (PackedModel pm = PackedModel.open(new org.apache.hadoop.fs.Path(run, "packed"), new Configuration())) {
      assertEquals(Set.of(q, "bert.encoder.layer.0.attention.self.key.weight"), pm.quantized().keySet());
      assertArrayEquals(offsets, pm.offsets(q));
      assertArrayEquals(direct, pm.packedBytes(q));
      assertArrayEquals(expected, pm.decode(q));
      // Kept tensors travel unchanged.
      try (Checkpoint ck = Checkpoint.open(bert, new Configuration())) {
        String v = "bert.encoder.layer.0.attention.self.value.weight";
        assertArrayEquals(ck.readBytes(v, 0, 4096), pm.checkpoint().readBytes(v, 0, 4096));
      }
    }
    assertTrue(Files.exists(tmp.resolve("run/packed/config.json")));
    assertTrue(Files.exists(tmp.resolve("run/packed/vocab.txt")));

    // Error tables: one row per block, and the per-tensor error equals the direct computation.
    ErrorsJob.registerViews(spark, run);
    assertEquals(2L * blocks, spark.sql("SELECT COUNT(*) FROM blocks").first().getLong(0));
    assertEquals(0L, spark.sql("SELECT COUNT(*) FROM (SELECT tensor, block FROM blocks GROUP BY tensor, block "
        + "HAVING COUNT(*) > 1)").first().getLong(0));
    ErrorStats directStats = new ErrorStats().add(w, 0, expected, 0, w.length);
    Row row = spark.sql(ErrorsJob.tableSql("tensor")).where("tensor = '" + q + "'").first();
    // The blocks table stores sq_err as float32 (relative rounding <= 2^-24) and sq_norm with 12 significant bits
    // (<= 2^-12), so the relative error of the table is within 2^-12 of the direct one, relatively.
    assertEquals(directStats.relativeError(), row.getDouble(row.fieldIndex("rel_error")),
        Math.scalb(directStats.relativeError(), -12));
    // the errors tables count the block codes; the offsets' 8 bits per group are in codec.bitsPerWeight()
    assertEquals(codec.bitsPerBlock() / (double) codec.blockSize(), row.getDouble(row.fieldIndex("bits_per_weight")),
        1e-4);
    // the offsets view: 18 groups of 4096 blocks per tensor, the offsets the packed tensor holds
    assertEquals(36L, spark.sql("SELECT COUNT(*) FROM offsets").first().getLong(0));
    List<Row> qOffsets = spark.sql("SELECT offset FROM offsets WHERE tensor = '" + q + "' ORDER BY group_index")
        .collectAsList();
    for (int g = 0; g < offsets.length; g++) {
      assertEquals(offsets[g], qOffsets.get(g).getInt(0), "group " + g);
    }
    assertEquals("q", row.getString(row.fieldIndex("kind")));
    String layers = ErrorsJob.format(spark.sql(ErrorsJob.tableSql("layer")), "text");
    assertTrue(layers.startsWith("layer  blocks"), layers);
    String csv = ErrorsJob.format(spark.sql(ErrorsJob.tableSql("kind")), "csv");
    assertEquals(3, csv.split("\n").length, csv); // header, k, q
    arraysReadBackFromCsvAndJson(q);
    badQueriesAreBadInputWithSparksMessage();

    // A rerun on the finished run computes nothing; a rerun of a committed unit adds no rows.
    assertEquals(0, QuantizeJob.run(spark, options(run, Set.of()), OUT).pendingBefore());
    RunDirectory rd = RunDirectory.at(run, new Configuration());
    var spec = rd.readSpec();
    var plan = rd.readPlan();
    UnitRunner.Outcome again = UnitRunner.run(new UnitRunner.Context(run, spec.model(), spec, Codecs::parse,
        Set.of()), new Configuration(), plan.unit(4));
    assertTrue(again.committed());
    ErrorsJob.registerViews(spark, run);
    assertEquals(2L * blocks, spark.sql("SELECT COUNT(*) FROM blocks").first().getLong(0));
  }

  /**
   * CSV and JSON of a query with an array column, read back with a CSV parser (univocity, Spark's own) and a
   * JSON parser (Jackson), give the numbers Spark holds.
   */
  private static void arraysReadBackFromCsvAndJson(String tensor) throws Exception {
    var df = ErrorsJob.query(spark, "SELECT tensor, block, seed, exponent, mantissas FROM blocks WHERE tensor = '"
        + tensor + "' ORDER BY block LIMIT 5");
    List<Row> rows = df.collectAsList();
    assertEquals(5, rows.size());

    var settings = new com.univocity.parsers.csv.CsvParserSettings();
    settings.setHeaderExtractionEnabled(true);
    List<String[]> csv = new com.univocity.parsers.csv.CsvParser(settings).parseAll(
        new java.io.StringReader(ErrorsJob.format(df, "csv")));
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    List<String> jsonLines = ErrorsJob.format(df, "json").lines().toList();
    assertEquals(rows.size(), csv.size());
    assertEquals(rows.size(), jsonLines.size());
    for (int i = 0; i < rows.size(); i++) {
      List<Object> expected = rows.get(i).getList(4);
      assertTrue(expected.size() > 1, "a SeedLM block has several mantissas");
      String cell = csv.get(i)[4];
      assertTrue(cell.startsWith("[") && !cell.contains("ArraySeq"), cell);
      List<Integer> fromCsv = json.readValue(cell, new com.fasterxml.jackson.core.type.TypeReference<List<Integer>>() {});
      var node = json.readTree(jsonLines.get(i)).get("mantissas");
      assertTrue(node.isArray(), jsonLines.get(i));
      for (int k = 0; k < expected.size(); k++) {
        int m = ((Number) expected.get(k)).intValue();
        assertEquals(m, fromCsv.get(k), cell);
        assertEquals(m, node.get(k).asInt(), jsonLines.get(i));
      }
      assertEquals(rows.get(i).getLong(1), Long.parseLong(csv.get(i)[1]));
      assertEquals(expected.size(), node.size());
    }
  }

  /** A query the user typed wrong is bad input (exit 2), with Spark's message, not an internal failure. */
  private static void badQueriesAreBadInputWithSparksMessage() {
    var syntax = assertThrows(org.seedlm.pipeline.BadInputException.class,
        () -> ErrorsJob.query(spark, "SELECT_nonsense"));
    assertTrue(syntax.getMessage().contains("PARSE_SYNTAX_ERROR"), syntax.getMessage());
    assertTrue(Cli.isBadInput(syntax));
    var column = assertThrows(org.seedlm.pipeline.BadInputException.class,
        () -> ErrorsJob.query(spark, "SELECT no_such_column FROM blocks"));
    assertTrue(column.getMessage().contains("no_such_column") && column.getMessage().contains("mantissas"),
        column.getMessage()); // names the unknown column and lists the ones there are
    var table = assertThrows(org.seedlm.pipeline.BadInputException.class,
        () -> ErrorsJob.query(spark, "SELECT * FROM no_such_view"));
    assertTrue(table.getMessage().contains("no_such_view"), table.getMessage());
  }

  /**
   * The uninterrupted run uses the reference search, the interrupted and resumed one the fast
   * kernel (the jobs' default): the packed models must still be byte-identical.
   */
  @Test
  void failedUnitsAreReportedAndResumedToAByteIdenticalModel(@TempDir java.nio.file.Path tmp) throws Exception {
    String clean = tmp.resolve("clean").toString();
    assertTrue(QuantizeJob.run(spark, options(clean, Set.of()), OUT).failures().isEmpty());
    AssembleJob.run(spark, clean, 4L << 30, OUT);

    String broken = tmp.resolve("broken").toString();
    QuantizeJob.Result first = QuantizeJob.run(spark, options(broken, Set.of(1, 3, 7), "fast"), OUT);
    assertEquals(List.of(1, 3, 7), first.failures().stream().map(UnitRunner.Outcome::unit).sorted().toList());
    RunStatus st = RunStatus.of(RunDirectory.at(broken, new Configuration()));
    assertEquals(15, st.committed());
    assertEquals(3, st.failed());
    assertEquals(0, st.pending());
    RunDirectory brokenRun = RunDirectory.at(broken, new Configuration());
    assertFalse(brokenRun.hasCommitIndex(), "no commit index while units are missing");
    assertTrue(RunDirectory.at(clean, new Configuration()).hasCommitIndex(), "a complete run has its commit index");

    IncompleteRunException refused = assertThrows(IncompleteRunException.class,
        () -> AssembleJob.run(spark, broken, 4L << 30, OUT));
    assertTrue(refused.getMessage().contains("3 of 18 units are not committed"), refused.getMessage());
    assertTrue(refused.getMessage().contains("unit 7: bert.encoder.layer.0.attention.self.key.weight"),
        refused.getMessage());

    QuantizeJob.Result second = QuantizeJob.run(spark, options(broken, Set.of(), "fast"), OUT);
    assertEquals(3, second.pendingBefore());
    assertEquals(List.of(1, 3, 7), second.outcomes().stream().map(UnitRunner.Outcome::unit).sorted().toList());
    assertTrue(second.failures().isEmpty());
    assertEquals(0, RunStatus.of(RunDirectory.at(broken, new Configuration())).failed());
    // the resumed run's commit index lists exactly the markers under commits/
    assertTrue(brokenRun.hasCommitIndex());
    var indexed = brokenRun.readCommits();
    brokenRun.deleteCommitIndex();
    assertEquals(brokenRun.readCommits(), indexed);
    AssembleJob.run(spark, broken, 4L << 30, OUT);

    var a = digests(tmp.resolve("clean/packed"));
    var b = digests(tmp.resolve("broken/packed"));
    assertFalse(a.isEmpty());
    assertEquals(a, b);
  }

  @Test
  void aRunDirectoryOfOtherOptionsIsRefusedWithWhatDiffers(@TempDir java.nio.file.Path tmp) throws Exception {
    String run = tmp.resolve("run").toString();
    QuantizeJob.Options o = new QuantizeJob.Options(bert.toString(), run, "rtn-sym-b4-g128", LAYER0_QK, List.of(),
        UNIT_BLOCKS, "fail", "reference", Set.of(), 0);
    QuantizeJob.run(spark, o, OUT);
    QuantizeJob.Options other = new QuantizeJob.Options(bert.toString(), run, "nf4-g64", LAYER0_QK, List.of(),
        UNIT_BLOCKS, "fail", "reference", Set.of(), 0);
    RunMismatchException e = assertThrows(RunMismatchException.class, () -> QuantizeJob.run(spark, other, OUT));
    assertTrue(e.getMessage().contains("codec: the run has rtn-sym-b4-g128, this command asks for nf4-g64"),
        e.getMessage());
  }
}
