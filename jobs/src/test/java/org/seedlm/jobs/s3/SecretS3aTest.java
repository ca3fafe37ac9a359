package org.seedlm.jobs.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.jobs.Cli;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * The S3 secret key travels only as Hadoop conf: after quantize, assemble and errors against S3Proxy
 * it appears in no log line, no console output, and no file of the run directory (run.json,
 * plan.json, commit markers, Parquet files, manifest.json, reports) nor anywhere in the bucket store.
 */
class SecretS3aTest {

  static final String SECRET = "seedlm-s3cr3t-" + UUID.randomUUID().toString().replace("-", "");
  static final String ACCESS = "seedlm-secret-test-access";

  static S3ProxyServer server;
  static java.nio.file.Path base;

  @AfterAll
  static void tearDown() throws Exception {
    UnitRunner.closeCachedFiles();
    FileSystem.closeAll();
    if (server != null) {
      server.close();
    }
    if (base != null) {
      try (var s = Files.walk(base)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  static int cli(List<String> args, S3Endpoint s3) {
    List<String> all = new ArrayList<>(args);
    all.addAll(List.of("--master", "local[2]"));
    s3.sparkConf().forEach((k, v) -> all.addAll(List.of("--conf", k + "=" + v)));
    return Cli.run(all.toArray(new String[0]));
  }

  @Test
  void theSecretKeyIsNeverLoggedNorWritten(@TempDir java.nio.file.Path tmp) throws Exception {
    base = Files.createTempDirectory("seedlm-secret");
    server = S3ProxyServer.start(ACCESS, SECRET, base.resolve("s3"));
    S3Endpoint s3 = server.endpoint();
    s3.createBuckets("models", "runs");
    java.nio.file.Path model = tmp.resolve("model");
    Files.createDirectories(model);
    float[] w = new float[64 * 64];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) Math.sin(i) * 0.05f;
    }
    new SafetensorsWriter()
        .addF32("bert.encoder.layer.0.attention.self.key.weight", new long[] {64, 64}, w)
        .addF32("bert.encoder.layer.0.attention.self.query.weight", new long[] {64, 64}, w)
        .write(new Path(model.resolve("model.safetensors").toString()), new Configuration());
    Files.writeString(model.resolve("config.json"), "{\"model_type\":\"bert\",\"hidden_size\":64}");
    s3.upload("models", "tiny", model.resolve("model.safetensors"), model.resolve("config.json"));

    String run = "s3a://runs/tiny-run";
    java.nio.file.Path localReport = tmp.resolve("errors.txt");
    List<String> logs;
    String console;
    try (LogCapture capture = new LogCapture("org.apache.hadoop.fs.s3a", "org.seedlm")) {
      assertEquals(Cli.OK, cli(List.of("quantize", "--model", "s3a://models/tiny", "--run", run,
          "--codec", "rtn-sym-b4-g128", "--unit-blocks", "16"), s3));
      assertEquals(Cli.OK, cli(List.of("assemble", "--run", run), s3));
      assertEquals(Cli.OK, cli(List.of("errors", "--run", run, "--out", run + "/reports/errors.txt"), s3));
      assertEquals(Cli.OK, cli(List.of("errors", "--run", run, "--format", "csv", "--out",
          localReport.toString()), s3));
      logs = capture.events();
      console = capture.console();
    }
    System.out.printf("[secret-test] captured %d log events and %,d console characters%n", logs.size(),
        console.length());
    // The capture really saw the commands (so "not found" means something).
    assertTrue(console.contains("[quantize] s3a://runs/tiny-run"), console);
    assertTrue(console.contains("[errors] wrote " + run + "/reports/errors.txt"), console);
    assertTrue(logs.size() > 10, logs::toString);
    assertTrue(logs.stream().anyMatch(l -> l.contains("org.apache.spark")), "no Spark INFO line captured");
    for (String line : logs) {
      assertFalse(line.contains(SECRET), () -> "secret in a log line: " + line);
    }
    assertFalse(console.contains(SECRET), "secret in the console output");

    // Every file of the run directory, read back through S3A.
    Configuration conf = s3.apply(new Configuration());
    Map<String, byte[]> files = HadoopFiles.contents(new Path(run), conf);
    for (String must : List.of("run.json", "plan.json", "commits/unit-00000000.json", "packed/manifest.json",
        "reports/errors.txt")) {
      assertTrue(files.keySet().stream().anyMatch(f -> f.endsWith("/tiny-run/" + must)), must + " not in " + files.keySet());
    }
    assertTrue(files.keySet().stream().anyMatch(f -> f.endsWith(".parquet")), files.keySet()::toString);
    byte[] secret = SECRET.getBytes(StandardCharsets.UTF_8);
    files.forEach((name, bytes) -> assertFalse(contains(bytes, secret), "secret in " + name));
    assertFalse(contains(Files.readAllBytes(localReport), secret), "secret in the local report");
    // And nowhere in what the S3 server stored (objects and their metadata), nor the local temp dir.
    for (java.nio.file.Path root : List.of(base, tmp)) {
      try (var s = Files.walk(root)) {
        for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) s::iterator) {
          if (Files.isRegularFile(p)) {
            assertFalse(contains(Files.readAllBytes(p), secret), "secret in " + p);
          }
        }
      }
    }
  }

  static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
