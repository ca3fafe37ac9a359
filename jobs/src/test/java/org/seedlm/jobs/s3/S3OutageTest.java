package org.seedlm.jobs.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.jobs.AssembleJob;
import org.seedlm.jobs.QuantizeJob;
import org.seedlm.pipeline.bert.BertImporter;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunStatus;
import org.seedlm.pipeline.run.UnitRunner;

/**
 * The S3 endpoint stops in the middle of a quantize stage (model and run directory on s3a://): the
 * job must return within a bounded time, reporting the units that could not be done and why; once
 * the endpoint is back (same port, same objects) the same command computes only the missing units,
 * and the assembled model is byte-identical to an undisturbed run on the local file system.
 */
class S3OutageTest {
  static final String CODEC = "rtn-sym-b4-g128";
  static final List<String> LAYER0_QK = List.of("layer\\.0\\.attention\\.self\\.(query|key)\\.weight$");
  /** 768 x 768 / 128 = 4608 blocks per tensor: 9 units each, 18 in all. */
  static final int UNIT_BLOCKS = 512;
  static final int UNITS = 18;
  static final long UNIT_DELAY_MS = 400;
  static final long SHARD_BYTES = 100L << 20;
  static final double FAIL_BOUND_SECS = 60;
  static final String DELAY_PROPERTY = "seedlm.test.unitDelayMs";
  static final String ACCESS = "seedlm-access";
  static final String SECRET = "seedlm-secret-key";
  static final Pattern COMMIT = Pattern.compile("unit-\\d{8}\\.json");

  static QuantizeJob.Options options(String model, String run) {
    return new QuantizeJob.Options(model, run, CODEC, LAYER0_QK, List.of(), UNIT_BLOCKS, "fail", "fast", Set.of(), 0);
  }

  @Test
  void quantizeFailsBoundedWhenS3StopsAndResumesToTheSamePackedModel(@TempDir java.nio.file.Path tmp)
      throws Exception {
    String cache = System.getProperty("seedlm.cache.dir", "target/test-cache");
    Path imported = BertImporter.ensureImported(BertImporter.locateJar(), new Path(cache, "bert-base-uncased"),
        new Configuration());
    java.nio.file.Path bert = java.nio.file.Path.of(imported.toUri().getPath());
    java.nio.file.Path storage = tmp.resolve("s3-storage");
    S3ProxyServer server = S3ProxyServer.start(ACCESS, SECRET, storage);
    int port = server.port();
    S3Endpoint s3 = server.endpoint();
    SparkSession spark = null;
    ExecutorService background = Executors.newSingleThreadExecutor();
    try {
      s3.createBuckets("models", "runs");
      s3.upload("models", "bert-base-uncased", bert.resolve(BertImporter.MODEL_FILE),
          bert.resolve(BertImporter.CONFIG_FILE), bert.resolve(BertImporter.VOCAB_FILE),
          bert.resolve(BertImporter.TOKENIZER_CONFIG_FILE));
      spark = TestSparks.session("seedlm-s3-outage", s3.sparkConf());
      Configuration conf = spark.sparkContext().hadoopConfiguration();
      PrintStream out = System.out;

      // The undisturbed reference, on the local file system.
      String localRun = tmp.resolve("local-run").toString();
      QuantizeJob.Result ref = QuantizeJob.run(spark, options(bert.toString(), localRun), out);
      assertTrue(ref.failures().isEmpty(), () -> ref.failures().toString());
      assertEquals(UNITS, ref.plan().numUnits());
      AssembleJob.run(spark, localRun, SHARD_BYTES, out);

      // The run on s3a, slowed down so that the endpoint can be stopped midway.
      String model = "s3a://models/bert-base-uncased";
      String run = "s3a://runs/bert-layer0-qk";
      ByteArrayOutputStream captured = new ByteArrayOutputStream();
      PrintStream tee = new PrintStream(new Tee(System.out, captured), true, StandardCharsets.UTF_8);
      SparkSession session = spark;
      System.setProperty(DELAY_PROPERTY, Long.toString(UNIT_DELAY_MS));
      QuantizeJob.Result first;
      Exception firstError = null;
      int committedAtStop;
      double failSecs;
      try {
        Future<QuantizeJob.Result> job = background.submit(() -> QuantizeJob.run(session, options(model, run), tee));
        long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while ((committedAtStop = commitsOnDisk(storage)) < 1) {
          if (job.isDone()) {
            fail("quantize finished before the first commit was seen: " + job.get());
          }
          if (System.nanoTime() > waitUntil) {
            fail("no unit committed within 60 s");
          }
          Thread.sleep(20);
        }
        assertTrue(committedAtStop < UNITS, "all units committed before the outage");
        long tStop = System.nanoTime();
        server.close();
        assertRefused(port);
        try {
          first = job.get((long) FAIL_BOUND_SECS * 2, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          first = null;
          firstError = (Exception) e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
          fail("quantize still running " + FAIL_BOUND_SECS * 2 + " s after the S3 endpoint stopped: it hangs");
          return;
        }
        failSecs = (System.nanoTime() - tStop) / 1e9;
      } finally {
        System.clearProperty(DELAY_PROPERTY);
      }
      assertTrue(failSecs < FAIL_BOUND_SECS, "quantize took " + failSecs + " s to give up after the outage");
      String report = captured.toString(StandardCharsets.UTF_8);
      String what;
      if (first != null) {
        QuantizeJob.Result r = first;
        assertEquals(UNITS, r.pendingBefore());
        assertFalse(r.failures().isEmpty(), "no unit failed although S3 stopped midway");
        for (UnitRunner.Outcome f : r.failures()) {
          assertTrue(mentionsConnection(f.error(), port), () -> "unclear failure of unit " + f.unit() + ": " + f.error());
          assertFalse(f.badInput(), () -> "an outage is not the input's fault: " + f);
          assertTrue(report.contains("unit " + f.unit() + " (" + f.tensor() + ") FAILED: "), report);
        }
        assertTrue(report.contains("run the same command again"), report);
        UnitRunner.Outcome sample = r.failures().get(0);
        out.printf("[s3-outage] first failure: unit %d (%s) FAILED: %s%n", sample.unit(), sample.tensor(),
            sample.error());
        what = String.format("returned with %d/%d units committed, %d failed (connection refused)",
            r.outcomes().size() - r.failures().size(), UNITS, r.failures().size());
      } else {
        out.printf("[s3-outage] quantize threw: %s%n", firstError);
        assertTrue(mentionsConnection(String.valueOf(firstError), port), "unclear error: " + firstError);
        what = "threw " + firstError.getClass().getSimpleName();
      }

      // While the endpoint is down, the status command fails fast and clearly too.
      long tStatus = System.nanoTime();
      java.io.IOException down = assertThrows(java.io.IOException.class,
          () -> RunStatus.of(RunDirectory.at(run, conf)));
      double statusSecs = (System.nanoTime() - tStatus) / 1e9;
      out.printf("[s3-outage] status while S3 is down failed in %.1f s: %s%n", statusSecs, down.getMessage());
      assertTrue(statusSecs < FAIL_BOUND_SECS, "status took " + statusSecs + " s");
      assertTrue(mentionsConnection(down.toString(), port), down.toString());

      // The endpoint comes back: same port, same storage directory.
      long tBack = System.nanoTime();
      server = S3ProxyServer.start(ACCESS, SECRET, storage, port);
      RunStatus status = RunStatus.of(RunDirectory.at(run, conf));
      int committedNow = commitsOnDisk(storage);
      out.printf("[s3-outage] status after restart: %d units, %d committed, %d failed, %d pending%n",
          status.units(), status.committed(), status.failed(), status.pending());
      assertEquals(UNITS, status.units());
      assertEquals(committedNow, status.committed());
      assertTrue(status.committed() >= committedAtStop, "commits lost: " + status);
      assertTrue(status.committed() < UNITS, "no unit left to do: " + status);
      assertEquals(UNITS - status.committed(), status.failed() + status.pending());
      assertFalse(status.assembled());
      if (first != null) {
        int okOutcomes = first.outcomes().size() - first.failures().size();
        // Every unit reported committed is; a unit whose marker landed while S3A's rename (copy, then
        // delete of the source) was cut off is committed yet reported failed: it is not recomputed.
        assertTrue(status.committed() >= okOutcomes, "status " + status.committed() + " < committed " + okOutcomes);
        out.printf("[s3-outage] the first run reported %d committed; the run directory holds %d%n", okOutcomes,
            status.committed());
      }

      // The same command again computes only the missing units.
      QuantizeJob.Result rerun = QuantizeJob.run(spark, options(model, run), out);
      assertTrue(rerun.failures().isEmpty(), () -> rerun.failures().toString());
      assertEquals(UNITS - status.committed(), rerun.pendingBefore());
      assertTrue(rerun.pendingBefore() < UNITS);
      AssembleJob.run(spark, run, SHARD_BYTES, out);
      double recoverSecs = (System.nanoTime() - tBack) / 1e9;

      HadoopFiles.assertSamePackedModel(localRun, run, conf);
      out.printf(Locale.ROOT, "[s3-outage] fault: S3 endpoint stopped after %d/%d units committed; job: %s; "
              + "time to fail: %.1f s; time to recover (restart, rerun %d units, assemble): %.1f s; "
              + "packed model identical to the undisturbed local run: %s%n",
          committedAtStop, UNITS, what, failSecs, rerun.pendingBefore(), recoverSecs, true);
    } finally {
      System.clearProperty(DELAY_PROPERTY);
      background.shutdownNow();
      UnitRunner.closeCachedFiles();
      if (spark != null) {
        spark.stop();
      }
      FileSystem.closeAll(); // Hadoop caches one S3A client per bucket: never hand it to the next class
      server.close();
    }
  }

  /** Commit markers as stored by the S3 server on disk (read without S3, so also during the outage). */
  static int commitsOnDisk(java.nio.file.Path storage) throws java.io.IOException {
    if (!java.nio.file.Files.exists(storage)) {
      return 0;
    }
    try (var s = java.nio.file.Files.walk(storage)) {
      return (int) s.filter(p -> p.getParent() != null && p.getParent().getFileName() != null
              && p.getParent().getFileName().toString().equals(RunDirectory.COMMITS)
              && COMMIT.matcher(p.getFileName().toString()).matches())
          .count();
    }
  }

  static boolean mentionsConnection(String message, int port) {
    if (message == null) {
      return false;
    }
    String m = message.toLowerCase(Locale.ROOT);
    return m.contains("127.0.0.1:" + port) && (m.contains("connection refused") || m.contains("connect"));
  }

  static void assertRefused(int port) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      fail("the stopped S3 server still accepts connections on port " + port);
    } catch (ConnectException expected) {
      // stopped
    }
  }

  /** Writes to two streams. */
  static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int c) throws java.io.IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }

    @Override
    public void flush() throws java.io.IOException {
      a.flush();
      b.flush();
    }
  }
}
