package org.seedlm.jobs.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StorageStatistics;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.jobs.AssembleJob;
import org.seedlm.jobs.ErrorsJob;
import org.seedlm.jobs.QuantizeJob;
import org.seedlm.pipeline.bert.BertImporter;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.UnitRunner;

/**
 * The S3A end-to-end scenario, run against any S3-compatible endpoint: upload the imported BERT-base
 * checkpoint to a bucket, quantize two layer-0 tensors with model and run directory on s3a://, then
 * assemble and query errors on s3a://, and check that the packed model is byte-identical to the same
 * run on the local file system. The model and the run live in different buckets, so the S3A
 * statistics of the model bucket's file system count exactly what the run read from the checkpoint.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class S3aScenario {

  /** Round-to-nearest keeps the compute small: this scenario is about the I/O. */
  static final String CODEC = "rtn-sym-b4-g128";
  static final List<String> LAYER0_QK = List.of("layer\\.0\\.attention\\.self\\.(query|key)\\.weight$");
  static final int UNIT_BLOCKS = 1024; // 5 units per 768 x 768 tensor, 10 in all
  /** Several output shards, written in parallel (and the index.json path is exercised). */
  static final long SHARD_BYTES = 100L << 20;
  static final PrintStream OUT = System.out;

  SparkSession spark;
  java.nio.file.Path bert;

  /** The endpoint under test (started on first call). */
  protected abstract S3Endpoint endpoint() throws Exception;

  /** Stops what {@link #endpoint()} started. */
  protected void stopEndpoint() throws Exception {}

  @BeforeAll
  void setUp() throws Exception {
    String cache = System.getProperty("seedlm.cache.dir", "target/test-cache");
    Path imported = BertImporter.ensureImported(BertImporter.locateJar(), new Path(cache, "bert-base-uncased"),
        new Configuration());
    bert = java.nio.file.Path.of(imported.toUri().getPath());
    S3Endpoint s3 = endpoint();
    s3.createBuckets("models", "runs");
    long t0 = System.nanoTime();
    s3.upload("models", "bert-base-uncased", bert.resolve(BertImporter.MODEL_FILE),
        bert.resolve(BertImporter.CONFIG_FILE), bert.resolve(BertImporter.VOCAB_FILE),
        bert.resolve(BertImporter.TOKENIZER_CONFIG_FILE));
    OUT.printf("[s3-test] uploaded BERT-base to %s/models in %.1f s%n", s3.endpoint(), (System.nanoTime() - t0) / 1e9);
    spark = TestSparks.session("seedlm-s3-test", s3.sparkConf());
  }

  @AfterAll
  void tearDown() throws Exception {
    UnitRunner.closeCachedFiles();
    if (spark != null) {
      spark.stop();
      spark = null;
    }
    FileSystem.closeAll(); // Hadoop caches one S3A client per bucket: never hand it to the next class
    stopEndpoint();
  }

  static QuantizeJob.Options options(String model, String run) {
    return new QuantizeJob.Options(model, run, CODEC, LAYER0_QK, List.of(), UNIT_BLOCKS, "fail", "fast", Set.of(), 0);
  }

  @Test
  void quantizeAssembleAndErrorsOnS3aMatchTheLocalRunAndReadOnlyTheSlices(@TempDir java.nio.file.Path tmp)
      throws Exception {
    Configuration conf = spark.sparkContext().hadoopConfiguration();

    // The same run on the local file system, as the reference.
    String localRun = tmp.resolve("run").toString();
    assertTrue(QuantizeJob.run(spark, options(bert.toString(), localRun), OUT).failures().isEmpty());
    AssembleJob.run(spark, localRun, SHARD_BYTES, OUT);

    String model = "s3a://models/bert-base-uncased";
    String run = "s3a://runs/bert-layer0-qk";
    FileSystem modelFs = new Path(model).getFileSystem(conf);
    long size = modelFs.getFileStatus(new Path(model, BertImporter.MODEL_FILE)).getLen();
    Map<String, Long> before = stats(modelFs);
    long t0 = System.nanoTime();
    QuantizeJob.Result r = QuantizeJob.run(spark, options(model, run), OUT);
    double quantizeSecs = (System.nanoTime() - t0) / 1e9;
    assertTrue(r.failures().isEmpty(), () -> r.failures().toString());
    assertEquals(10, r.plan().numUnits());
    UnitRunner.closeCachedFiles(); // input streams publish their statistics to the file system on close
    Map<String, Long> after = stats(modelFs);
    long read = delta(before, after, "stream_read_bytes");
    long gets = delta(before, after, "action_http_get_request");
    long selected = r.plan().numWeights() * 4L;
    OUT.printf("[s3-test] quantize on s3a read %,d bytes of the %,d-byte checkpoint (%.3f%%) in %,d GET requests"
            + " (%d units, %,d bytes of selected weights, %.1f s); S3A stream statistics: %s%n",
        read, size, 100.0 * read / size, gets, r.plan().numUnits(), selected, quantizeSecs,
        readStats(before, after));
    assertTrue(read >= selected, "read " + read + " < selected weights " + selected);
    assertTrue(read < size / 20, "read " + read + " bytes of a " + size + "-byte checkpoint: not ranged reads");

    // Assemble and errors on s3a.
    AssembleJob.run(spark, run, SHARD_BYTES, OUT);
    UnitRunner.closeCachedFiles();
    Map<String, Long> afterAssemble = stats(modelFs);
    OUT.printf("[s3-test] assemble read %,d more bytes from the checkpoint (the kept tensors are copied)%n",
        delta(after, afterAssemble, "stream_read_bytes"));

    HadoopFiles.assertSamePackedModel(localRun, run, conf);
    try (PackedModel remote = PackedModel.open(new Path(run, RunDirectory.PACKED), conf)) {
      assertEquals(2, remote.quantized().size());
    }

    ErrorsJob.registerViews(spark, localRun);
    String localTable = ErrorsJob.format(spark.sql(ErrorsJob.tableSql("tensor")), "csv");
    ErrorsJob.registerViews(spark, run);
    String s3Table = ErrorsJob.format(spark.sql(ErrorsJob.tableSql("tensor")), "csv");
    assertEquals(localTable, s3Table);
    assertEquals(3, s3Table.split("\n").length, s3Table);
    Path report = new Path(run, RunDirectory.REPORTS + "/errors-by-tensor.csv");
    HadoopFiles.write(report, conf, s3Table.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(s3Table.length(), report.getFileSystem(conf).getFileStatus(report).getLen());

    // A rerun on s3a finds every unit committed.
    assertEquals(0, QuantizeJob.run(spark, options(model, run), OUT).pendingBefore());
  }

  static Map<String, Long> stats(FileSystem fs) {
    Map<String, Long> m = new TreeMap<>();
    for (var it = fs.getStorageStatistics().getLongStatistics(); it.hasNext(); ) {
      StorageStatistics.LongStatistic s = it.next();
      m.put(s.getName(), s.getValue());
    }
    return m;
  }

  static long delta(Map<String, Long> a, Map<String, Long> b, String key) {
    return b.getOrDefault(key, 0L) - a.getOrDefault(key, 0L);
  }

  static Map<String, Long> readStats(Map<String, Long> a, Map<String, Long> b) {
    Map<String, Long> m = new TreeMap<>();
    for (String k : b.keySet()) {
      long d = delta(a, b, k);
      if (d != 0 && (k.startsWith("stream_read") || k.contains("get_request"))) {
        m.put(k, d);
      }
    }
    return m;
  }
}
