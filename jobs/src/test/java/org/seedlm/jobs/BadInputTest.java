package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.seedlm.jobs.s3.HadoopFiles;
import org.seedlm.jobs.s3.S3ProxyServer;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * Bad checkpoints, on the local file system and on S3 (in-process S3Proxy): each is refused with a
 * message naming the file or the tensor, as bad input (exit code 2 through the CLI), and a committed
 * run directory the command was pointed at is left exactly as it was.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {

  static final String CODEC = "rtn-sym-b4-g128";
  static final String Q = "bert.encoder.layer.0.attention.self.query.weight";
  static final String K = "bert.encoder.layer.0.attention.self.key.weight";
  static final String CONFIG = "{\"model_type\":\"bert\",\"hidden_size\":64,\"num_hidden_layers\":1}";
  static final PrintStream OUT = System.out;

  S3ProxyServer server;
  java.nio.file.Path base;
  final Map<String, String> roots = new HashMap<>();
  final Map<String, Map<String, String>> committed = new HashMap<>();

  SparkSession spark() {
    Map<String, String> c = new HashMap<>(server.endpoint().sparkConf());
    c.put("spark.sql.shuffle.partitions", "2");
    return Sparks.session("seedlm-bad-input", "local[2]", c);
  }

  Configuration conf() {
    return spark().sparkContext().hadoopConfiguration();
  }

  @BeforeAll
  void setUp() throws Exception {
    base = java.nio.file.Files.createTempDirectory("seedlm-bad-input");
    server = S3ProxyServer.start("bad-input-access", "bad-input-secret", base.resolve("s3"));
    server.endpoint().createBuckets("bad");
    roots.put("local", "file:" + base.resolve("local"));
    roots.put("s3", "s3a://bad");
    for (var e : roots.entrySet()) {
      String root = e.getValue();
      writeModel(root + "/good", goodModel(), CONFIG);
      String run = root + "/committed";
      assertTrue(QuantizeJob.run(spark(), options(root + "/good", run, "fail"), OUT).failures().isEmpty());
      AssembleJob.run(spark(), run, 1L << 30, OUT);
      committed.put(e.getKey(), HadoopFiles.digests(new Path(run), conf()));
    }
  }

  @AfterAll
  void tearDown() throws Exception {
    UnitRunner.closeCachedFiles();
    spark().stop();
    FileSystem.closeAll();
    server.close();
    try (var s = java.nio.file.Files.walk(base)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  static QuantizeJob.Options options(String model, String run, String nonFinite) {
    return new QuantizeJob.Options(model, run, CODEC, List.of(), List.of(), 16, nonFinite, "fast", Set.of(), 0);
  }

  // ---- models -------------------------------------------------------------------------------

  static float[] weights(int n, int seed) {
    float[] w = new float[n];
    java.util.Random r = new java.util.Random(seed);
    for (int i = 0; i < n; i++) {
      w[i] = (float) r.nextGaussian() * 0.05f;
    }
    return w;
  }

  static byte[] safetensors(SafetensorsWriter w) throws Exception {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    w.writeTo(bos);
    return bos.toByteArray();
  }

  /** Two 64 x 64 BERT layer-0 projections: 32 blocks of 128 each, 2 units of 16 blocks per tensor. */
  static byte[] goodModel() throws Exception {
    return safetensors(new SafetensorsWriter()
        .addF32(K, new long[] {64, 64}, weights(4096, 1))
        .addF32(Q, new long[] {64, 64}, weights(4096, 2)));
  }

  /** A file from a raw header and {@code dataBytes} zero bytes of data. */
  static byte[] raw(String header, int dataBytes) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    return b.array();
  }

  void writeModel(String dir, byte[] safetensors, String config) throws Exception {
    HadoopFiles.write(new Path(dir, "model.safetensors"), conf(), safetensors);
    if (config != null) {
      HadoopFiles.write(new Path(dir, "config.json"), conf(), config.getBytes(StandardCharsets.UTF_8));
    }
  }

  // ---- the checks ----------------------------------------------------------------------------

  /** Quantizing {@code model} into the committed run is refused as bad input naming {@code expected}. */
  void refused(String where, String model, String... expected) throws Exception {
    String run = roots.get(where) + "/committed";
    Exception e = assertThrows(Exception.class, () -> QuantizeJob.run(spark(), options(model, run, "fail"), OUT));
    String msg = e.getMessage();
    OUT.println("[bad-input] " + where + ": " + msg);
    assertTrue(Cli.isBadInput(e), () -> "not classified as bad input (exit 2): " + e);
    for (String s : expected) {
      assertTrue(msg.contains(s), () -> "message lacks \"" + s + "\": " + msg);
    }
    assertCommittedRunUnchanged(where);
  }

  void assertCommittedRunUnchanged(String where) throws Exception {
    Map<String, String> now = HadoopFiles.digests(new Path(roots.get(where) + "/committed"), conf());
    assertTrue(now.keySet().stream().anyMatch(k -> k.startsWith(RunDirectory.COMMITS + "/")), now::toString);
    assertTrue(now.keySet().stream().anyMatch(k -> k.startsWith(RunDirectory.PACKED + "/")), now::toString);
    assertEquals(committed.get(where), now);
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void truncatedShard(String where) throws Exception {
    String dir = roots.get(where) + "/truncated";
    byte[] good = goodModel();
    writeModel(dir, Arrays.copyOf(good, good.length - 1000), CONFIG);
    refused(where, dir, dir + "/model.safetensors", "tensor '" + Q + "'", "truncated");
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void headerLengthLargerThanTheFile(String where) throws Exception {
    String dir = roots.get(where) + "/header-too-long";
    byte[] b = new byte[100];
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(1_000_000L);
    writeModel(dir, b, CONFIG);
    refused(where, dir, dir + "/model.safetensors", "header length 1000000 larger than the file (100 bytes)");
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void overlappingOffsets(String where) throws Exception {
    String dir = roots.get(where) + "/overlap";
    writeModel(dir, raw("{\"" + K + "\":{\"dtype\":\"F32\",\"shape\":[32,32],\"data_offsets\":[0,4096]},"
        + "\"" + Q + "\":{\"dtype\":\"F32\",\"shape\":[32,32],\"data_offsets\":[2048,6144]}}", 6144), CONFIG);
    refused(where, dir, dir + "/model.safetensors", "tensor '" + Q + "'", "overlap");
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void unknownDtype(String where) throws Exception {
    String dir = roots.get(where) + "/dtype";
    writeModel(dir, raw("{\"" + Q + "\":{\"dtype\":\"F4_E2M1\",\"shape\":[32,32],\"data_offsets\":[0,1024]}}",
        1024), CONFIG);
    refused(where, dir, dir + "/model.safetensors", "tensor '" + Q + "'", "unknown dtype \"F4_E2M1\"");
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void indexPointingAtAMissingShard(String where) throws Exception {
    String dir = roots.get(where) + "/missing-shard";
    HadoopFiles.write(new Path(dir, "model-00001-of-00002.safetensors"), conf(),
        safetensors(new SafetensorsWriter().addF32(K, new long[] {64, 64}, weights(4096, 1))));
    HadoopFiles.write(new Path(dir, "model.safetensors.index.json"), conf(), ("{\"metadata\":{},\"weight_map\":{"
        + "\"" + K + "\":\"model-00001-of-00002.safetensors\",\"" + Q + "\":\"model-00002-of-00002.safetensors\"}}")
        .getBytes(StandardCharsets.UTF_8));
    refused(where, dir, dir + "/model.safetensors.index.json", "shard 'model-00002-of-00002.safetensors'",
        "tensor '" + Q + "'", "does not exist");
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void indexPointingOutsideTheModelDirectory(String where) throws Exception {
    String dir = roots.get(where) + "/escape/model";
    // A valid file really is there: it must not be read.
    HadoopFiles.write(new Path(roots.get(where) + "/escape/outside.safetensors"), conf(), goodModel());
    HadoopFiles.write(new Path(dir, "model.safetensors.index.json"), conf(), ("{\"metadata\":{},\"weight_map\":{"
        + "\"" + K + "\":\"../outside.safetensors\",\"" + Q + "\":\"../outside.safetensors\"}}")
        .getBytes(StandardCharsets.UTF_8));
    refused(where, dir, dir + "/model.safetensors.index.json", "'../outside.safetensors'",
        "points outside the model directory");
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void configOfAnotherModel(String where) throws Exception {
    String dir = roots.get(where) + "/wrong-config";
    writeModel(dir, safetensors(new SafetensorsWriter().addF32(Q, new long[] {768, 768}, new float[768 * 768])),
        "{\"model_type\":\"bert\",\"hidden_size\":1024,\"num_hidden_layers\":12}");
    refused(where, dir, dir + "/config.json", "hidden_size is 1024", "tensor '" + Q + "'", "[768, 768]");
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void nanWeightsFailNamingTensorAndBlockUnlessZeroed(String where) throws Exception {
    String dir = roots.get(where) + "/nan";
    float[] q = weights(4096, 2);
    q[3 * 128 + 5] = Float.NaN; // block 3 of the query projection
    writeModel(dir, safetensors(new SafetensorsWriter()
        .addF32(K, new long[] {64, 64}, weights(4096, 1))
        .addF32(Q, new long[] {64, 64}, q)), CONFIG);

    QuantizeJob.Result failed = QuantizeJob.run(spark(), options(dir, roots.get(where) + "/nan-run", "fail"), OUT);
    assertEquals(1, failed.failures().size(), failed.outcomes()::toString);
    UnitRunner.Outcome f = failed.failures().get(0);
    assertTrue(f.badInput());
    assertEquals(Q, f.tensor());
    assertTrue(f.error().contains("Cannot quantize tensor " + Q + ": block 3 holds NaN at element 389"), f.error());
    assertTrue(f.error().contains("--non-finite=zero"), f.error());

    QuantizeJob.Result zeroed = QuantizeJob.run(spark(), options(dir, roots.get(where) + "/nan-zero", "zero"), OUT);
    assertTrue(zeroed.failures().isEmpty(), zeroed.outcomes()::toString);
    assertEquals(4, zeroed.outcomes().size());
    assertCommittedRunUnchanged(where);
  }

  /** The committed run was made from "good"; this model has byte-identical headers and other values. */
  static byte[] instructModel() throws Exception {
    return safetensors(new SafetensorsWriter()
        .addF32(K, new long[] {64, 64}, weights(4096, 3))
        .addF32(Q, new long[] {64, 64}, weights(4096, 4)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void anotherModelWithIdenticalHeadersIsRefusedNamingIt(String where) throws Exception {
    String dir = roots.get(where) + "/instruct";
    writeModel(dir, instructModel(), CONFIG);
    refused(where, dir, "model content: the run was made from ", "this command reads " + dir,
        "resume with the model the run was made from, or quantize " + dir + " into a new run directory");
  }

  /** Through the CLI: exit code 2 and the message on stderr, for a truncated shard on either store. */
  @ParameterizedTest
  @ValueSource(strings = {"local", "s3"})
  void cliExitsWithTwoAndNamesTheFile(String where) throws Exception {
    String dir = roots.get(where) + "/cli-truncated";
    byte[] good = goodModel();
    writeModel(dir, Arrays.copyOf(good, good.length - 1000), CONFIG);
    List<String> args = new ArrayList<>(List.of("quantize", "--model", dir, "--run", roots.get(where) + "/committed",
        "--codec", CODEC, "--unit-blocks", "16", "--master", "local[2]"));
    server.endpoint().sparkConf().forEach((k, v) -> args.addAll(List.of("--conf", k + "=" + v)));
    PrintStream oldErr = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int rc;
    try {
      rc = Cli.run(args.toArray(new String[0]));
    } finally {
      System.setErr(oldErr);
    }
    String stderr = err.toString(StandardCharsets.UTF_8);
    assertEquals(Cli.BAD_INPUT, rc, stderr);
    assertTrue(stderr.contains("seedlm: Cannot read " + dir + "/model.safetensors: tensor '" + Q + "'"), stderr);
    assertFalse(stderr.contains("Exception"), stderr);
    assertCommittedRunUnchanged(where);
  }

  /** Through the CLI: quantize --run on a run made from another model with identical headers exits 2. */
  @Test
  void cliRefusesAnotherModelWithIdenticalHeaders() throws Exception {
    String dir = roots.get("local") + "/cli-instruct";
    writeModel(dir, instructModel(), CONFIG);
    String[] r = CliRun.run("quantize", "--model", dir, "--run", roots.get("local") + "/committed",
        "--codec", CODEC, "--unit-blocks", "16", "--master", "local[2]");
    assertEquals(Integer.toString(Cli.BAD_INPUT), r[0], r[2]);
    assertTrue(r[2].contains("model content: the run was made from " + roots.get("local") + "/good"), r[2]);
    assertTrue(r[2].contains("this command reads " + dir), r[2]);
    assertFalse(r[2].contains("Exception"), r[2]);
    assertCommittedRunUnchanged("local");
  }
}
