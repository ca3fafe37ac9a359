package org.seedlm.jobs.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.seedlm.pipeline.bert.BertImporter;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.kernel.FastSeedLmCodec;
import org.seedlm.pipeline.kernel.FastSeedSearch;
import org.seedlm.pipeline.run.Assembler;
import org.seedlm.pipeline.run.CommitMarker;
import org.seedlm.pipeline.run.Plan;
import org.seedlm.pipeline.run.Planner;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunSpec;
import org.seedlm.pipeline.run.TensorSelection;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * Faults on a real Spark standalone cluster (a master and two 1-core workers, each its own JVM):
 * a worker SIGKILLed mid-stage, the driver SIGKILLed mid-stage, and two quantize runs on the same
 * run directory at once. Each must end in a packed model byte-identical to an undisturbed run's.
 * Work: BERT-base layer 0 query+key, {@code seedlm-c8-p3-k8}, 4096 blocks per unit (36 units); the
 * test-only {@code seedlm.test.unitDelayMs} on executors makes the stage last long enough to be hit.
 * Prints a fault table at the end (also written to {@code target/cluster-it/fault-table.md}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterFaultTest {

  static final String CODEC = "seedlm-c8-p3-k8";
  static final String INCLUDE = "layer\\.0\\.attention\\.self\\.(query|key)\\.weight$";
  static final int UNIT_BLOCKS = 4096;
  static final int UNITS = 36; // 2 x 589,824 weights / 8 per block / 4096 blocks per unit
  static final Duration STAGE_TIMEOUT = Duration.ofSeconds(150);
  static final Pattern TO_COMPUTE = Pattern.compile("(\\d+) units to compute");

  /**
   * Spark conf every submitted job gets. {@code spark.task.maxFailures=4} (Spark's default, made
   * explicit): a task lost with its executor is retried on another one, and a unit that throws is
   * not retried by Spark at all (UnitRunner records it and the job exits 3, to be resumed by a
   * rerun), so only executor loss consumes task attempts. 512m executors fit the 1g workers.
   */
  static final Map<String, String> BASE_CONF = Map.of("spark.task.maxFailures", "4", "spark.executor.memory", "512m",
      "spark.ui.enabled", "false", "spark.sql.shuffle.partitions", "2");

  static Path root;
  static StandaloneCluster cluster;
  static String model;
  static Map<String, String> baseline;
  static final List<String> TABLE = new ArrayList<>();

  @BeforeAll
  static void startCluster() throws Exception {
    long t0 = System.nanoTime();
    root = Path.of("target", "cluster-it").toAbsolutePath();
    StandaloneCluster.deleteTree(root);
    Files.createDirectories(root);
    // The JVMs boot while this JVM writes the model and computes the undisturbed run.
    cluster = StandaloneCluster.launch(root, 2);
    model = writeModel(root.resolve("model")).toString();
    long tb = System.nanoTime();
    baseline = undisturbedRun(root.resolve("run-baseline"));
    double baselineSecs = secs(tb);
    cluster.awaitAliveWorkers(2, Duration.ofSeconds(120));
    System.out.printf("[cluster] master %s (UI %d) and 2 workers up in %.1f s; logs in %s%n", cluster.masterUrl(),
        cluster.masterUiPort, secs(t0), cluster.logs);
    TABLE.add(String.format("| none (baseline) | the same units computed and assembled by the engine-free core "
        + "(UnitRunner + Assembler) in the test JVM, fast kernel | %.1f s | (reference) |", baselineSecs));
  }

  @AfterAll
  static void stopCluster() throws IOException {
    if (cluster != null) {
      cluster.close();
    }
    if (!TABLE.isEmpty()) {
      StringBuilder sb = new StringBuilder("| Fault | What the job did | Time to recover | Packed model identical |\n"
          + "| --- | --- | --- | --- |\n");
      TABLE.forEach(r -> sb.append(r).append('\n'));
      System.out.println("[cluster] fault table:\n" + sb);
      Files.writeString(root.resolve("fault-table.md"), sb.toString());
    }
  }

  // ---------------------------------------------------------------- tests

  @Test
  @Order(2)
  void workerKilledMidStage() throws Exception {
    Map<String, String> base = baseline();
    cluster.ensureWorkers(Duration.ofSeconds(60));
    Path run = root.resolve("run-worker-kill");
    Process d = cluster.driver("quantize-worker-kill", quantizeArgs(run), conf(250, false));
    awaitCommits(run, 4, d);
    int atKill = commits(run);
    long tKill = System.nanoTime();
    cluster.killWorker(0);
    assertTrue(atKill < UNITS, "stage ended before the kill; raise the delay");
    int rc = waitFor(d, "quantize-worker-kill");
    String driverLog = Files.readString(cluster.log("quantize-worker-kill"));
    assertTrue(driverLog.contains("Lost executor"), "the driver never saw the executor go:\n" + driverLog);
    String did;
    if (rc == 0) {
      did = String.format("worker 0 SIGKILLed at %d/%d commits; driver logged \"Lost executor ... worker lost\", "
          + "Spark re-ran the lost task and the rest on worker 1's executor; the job completed (exit 0)", atKill,
          UNITS);
    } else {
      int again = runToEnd("quantize-worker-kill-rerun", run);
      did = String.format("worker 0 SIGKILLed at %d/%d commits; the job exited %d; the rerun computed %d units "
          + "and completed", atKill, UNITS, rc, again);
    }
    double recover = secs(tKill);
    assertEquals(UNITS, commits(run));
    cluster.ensureWorkers(Duration.ofSeconds(60));
    boolean same = assembleAndCompare(run, base);
    TABLE.add(String.format("| worker JVM SIGKILL mid-quantize | %s | %.1f s from kill to all units committed | %s |",
        did, recover, same ? "yes" : "NO"));
    assertTrue(same);
  }

  @Test
  @Order(3)
  void driverKilledMidStageThenRerunResumes() throws Exception {
    Map<String, String> base = baseline();
    cluster.ensureWorkers(Duration.ofSeconds(60));
    Path run = root.resolve("run-driver-kill");
    Process d = cluster.driver("quantize-driver-kill", quantizeArgs(run), conf(250, false));
    awaitCommits(run, 6, d);
    long tKill = System.nanoTime();
    int atKill = commits(run);
    d.destroyForcibly();
    assertTrue(d.waitFor(10, TimeUnit.SECONDS));
    assertTrue(atKill < UNITS, "stage ended before the kill; raise the delay");
    // Executors of the dead driver exit by themselves; wait until the master frees their cores.
    StandaloneCluster.await("the killed driver's application to end", Duration.ofSeconds(60),
        () -> cluster.masterState() != null && cluster.masterState().path("activeapps").size() == 0);
    int beforeRerun = commits(run);
    int computed = runToEnd("quantize-driver-kill-rerun", run);
    double recover = secs(tKill);
    assertTrue(computed < UNITS, "the rerun recomputed everything: " + computed);
    // Only uncommitted units: at most those missing at the kill (a task of the dead driver may still commit).
    assertTrue(computed <= UNITS - atKill, "the rerun computed committed units: " + computed);
    assertEquals(UNITS, commits(run));
    boolean same = assembleAndCompare(run, base);
    TABLE.add(String.format("| driver JVM SIGKILL mid-quantize | driver killed at %d/%d commits (%d once its "
        + "executors had exited); the same command rerun: \"%d units to compute\", exit 0 | %.1f s from kill to "
        + "rerun done | %s |", atKill, UNITS, beforeRerun, computed, recover, same ? "yes" : "NO"));
    assertTrue(same);
  }

  @Test
  @Order(4)
  void twoConcurrentRunsOnOneRunDirectoryConverge() throws Exception {
    Map<String, String> base = baseline();
    cluster.ensureWorkers(Duration.ofSeconds(60));
    Path run = root.resolve("run-concurrent");
    long t0 = System.nanoTime();
    // One core each, so both applications get an executor and really run at the same time.
    Process a = cluster.driver("quantize-concurrent-a", quantizeArgs(run), conf(100, true));
    Process b = cluster.driver("quantize-concurrent-b", quantizeArgs(run), conf(100, true));
    int ra = waitFor(a, "quantize-concurrent-a");
    int rb = waitFor(b, "quantize-concurrent-b");
    double both = secs(t0);
    String la = Files.readString(cluster.log("quantize-concurrent-a"));
    String lb = Files.readString(cluster.log("quantize-concurrent-b"));
    String outcome;
    if (ra == 0 && rb == 0) {
      outcome = String.format("both ran (planned %d and %d units to compute) and exited 0", toCompute(la),
          toCompute(lb));
    } else {
      // The other acceptable behaviour: one refuses, with a clear message.
      int refusedRc = ra != 0 ? ra : rb;
      String refusedLog = ra != 0 ? la : lb;
      assertTrue(ra == 0 || rb == 0, "both runs failed");
      assertTrue(refusedLog.contains("seedlm: "), "refusal without a message:\n" + refusedLog);
      outcome = "one exited " + refusedRc + " with: " + refusedLog.lines().filter(l -> l.startsWith("seedlm: "))
          .findFirst().orElse("?");
    }
    // Never a mix: exactly one marker per unit, no temporary marker left, every marker's file present
    // with the plan's row count.
    RunDirectory rd = RunDirectory.at(run.toString(), new Configuration());
    TreeMap<Integer, CommitMarker> markers = rd.readCommits();
    assertEquals(UNITS, markers.size());
    assertEquals(UNITS, markers.lastKey() + 1);
    try (var s = Files.list(run.resolve("commits"))) {
      assertEquals(UNITS, s.filter(p -> p.getFileName().toString().matches("unit-\\d{8}\\.json")).count());
    }
    Path tmp = run.resolve("commits/_tmp");
    if (Files.isDirectory(tmp)) {
      try (var s = Files.list(tmp)) {
        assertEquals(List.of(), s.filter(p -> !p.getFileName().toString().endsWith(".crc")).toList());
      }
    }
    var plan = rd.readPlan();
    for (CommitMarker m : markers.values()) {
      assertTrue(Files.isRegularFile(run.resolve(m.file())), m.file());
      assertEquals(plan.unit(m.unit()).numBlocks(), m.rows());
    }
    long attempts;
    try (var s = Files.walk(run.resolve("blocks"))) {
      attempts = s.filter(p -> p.getFileName().toString().endsWith(".parquet")).count();
    }
    boolean same = assembleAndCompare(run, base);
    TABLE.add(String.format("| two quantize runs on one run directory at once (1 executor each) | %s; %d "
        + "attempt files for %d units (%d computed twice, the loser's file ignored), one commit marker per unit | "
        + "%.1f s until both ended (no recovery needed) | %s |", outcome, attempts, UNITS, attempts - UNITS, both,
        same ? "yes" : "NO"));
    assertTrue(same);
  }

  // ---------------------------------------------------------------- helpers

  /** The undisturbed run's packed digests. */
  static Map<String, String> baseline() {
    return baseline;
  }

  /**
   * A small checkpoint of real weights: BERT-base layer 0's query and key projections (quantized)
   * and the query bias (kept), so assembly copies kilobytes rather than the whole 440 MB model.
   */
  static Path writeModel(Path dir) throws IOException {
    String cache = System.getProperty("seedlm.cache.dir", "target/test-cache");
    Configuration conf = new Configuration();
    org.apache.hadoop.fs.Path bert = BertImporter.ensureImported(BertImporter.locateJar(),
        new org.apache.hadoop.fs.Path(cache, "bert-base-uncased"), conf);
    SafetensorsWriter w = new SafetensorsWriter();
    String prefix = "bert.encoder.layer.0.attention.self.";
    try (Checkpoint ck = Checkpoint.open(bert, conf)) {
      for (String t : List.of("query.weight", "key.weight", "query.bias")) {
        long[] shape = ck.tensors().get(prefix + t).info().shape();
        float[] v = new float[Math.toIntExact(ck.tensors().get(prefix + t).info().numel())];
        ck.readFloats(prefix + t, 0, v.length, v, 0);
        w.addF32(prefix + t, shape, v);
      }
    }
    Files.createDirectories(dir);
    w.write(new org.apache.hadoop.fs.Path(dir.resolve("model.safetensors").toString()), conf);
    return dir;
  }

  /** Plans, computes every unit with the engine-free core (2 threads) and assembles; returns the digests. */
  static Map<String, String> undisturbedRun(Path runPath) throws IOException {
    Configuration conf = new Configuration();
    BlockCodec codec = Codecs.parse(CODEC, java.util.Map.of("G", Integer.toString(Planner.defaultGroupBlocks(UNIT_BLOCKS)),
        "coefficients", "best"));
    RunDirectory run = RunDirectory.at(runPath.toString(), conf);
    RunSpec spec;
    Plan plan;
    List<String> include = List.of(INCLUDE);
    try (Checkpoint ck = Checkpoint.open(new org.apache.hadoop.fs.Path(model), conf)) {
      spec = new RunSpec(RunSpec.FORMAT, RunSpec.VERSION, ck.modelDirectory().toString(), ck.fingerprint(),
          codec.name(), codec.params(), include, List.of(), UNIT_BLOCKS, "fail", ck.contentFingerprint());
      List<Planner.SourceTensor> sources = new ArrayList<>();
      ck.tensors().values().forEach(t -> sources.add(new Planner.SourceTensor(t.shard(), t.info())));
      plan = Planner.plan(sources, new TensorSelection(include, List.of()), codec.blockSize(), UNIT_BLOCKS,
          codec.groupBlocks());
    }
    assertEquals(UNITS, plan.numUnits());
    run.initOrCheck(spec);
    run.writeOrCheckPlan(plan);
    UnitRunner.CodecProvider fast = (name, params) -> Codecs.parse(name, params) instanceof SeedLmCodec s
        ? new FastSeedLmCodec(s, 1, FastSeedSearch.defaultVectorBitSize()) : Codecs.parse(name, params);
    UnitRunner.Context ctx = new UnitRunner.Context(runPath.toString(), spec.model(), spec, fast, Set.of());
    List<UnitRunner.Outcome> outcomes = IntStream.range(0, plan.numUnits()).parallel()
        .mapToObj(i -> UnitRunner.run(ctx, conf, plan.unit(i))).toList();
    assertTrue(outcomes.stream().allMatch(UnitRunner.Outcome::committed), outcomes::toString);
    Assembler.assembleLocally(run, spec, plan, codec, 4L << 30, conf);
    Map<String, String> d = digests(runPath.resolve("packed"));
    assertTrue(d.containsKey("manifest.json"), d::toString);
    return d;
  }

  static List<String> quantizeArgs(Path run) {
    return List.of("quantize", "--model", model, "--run", run.toString(), "--codec", CODEC, "--include", INCLUDE,
        "--unit-blocks", Integer.toString(UNIT_BLOCKS), "--kernel", "fast");
  }

  static Map<String, String> conf(int unitDelayMs, boolean oneCore) {
    Map<String, String> c = new TreeMap<>(BASE_CONF);
    if (unitDelayMs > 0) {
      c.put("spark.executor.extraJavaOptions", "-XX:+UseSerialGC -Dseedlm.test.unitDelayMs=" + unitDelayMs);
    }
    if (oneCore) {
      c.put("spark.cores.max", "1");
    }
    return c;
  }

  /** Runs the quantize command to the end (exit 0) and returns its "units to compute". */
  static int runToEnd(String name, Path run) throws Exception {
    Process d = cluster.driver(name, quantizeArgs(run), conf(250, false));
    assertEquals(0, waitFor(d, name));
    return toCompute(Files.readString(cluster.log(name)));
  }

  /** Assembles a finished run with the engine-free core and compares it with the baseline. */
  static boolean assembleAndCompare(Path runPath, Map<String, String> base) throws Exception {
    Configuration conf = new Configuration();
    RunDirectory run = RunDirectory.at(runPath.toString(), conf);
    RunSpec spec = run.readSpec();
    Assembler.assembleLocally(run, spec, run.readPlan(), Codecs.parse(spec.codec()), 4L << 30, conf);
    Map<String, String> got = digests(runPath.resolve("packed"));
    if (!got.equals(base)) {
      System.out.println("[cluster] " + runPath + " differs from the baseline:\n  got  " + got + "\n  want " + base);
    }
    return got.equals(base);
  }

  static int waitFor(Process p, String name) throws InterruptedException {
    if (!p.waitFor(STAGE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(name + " did not end within " + STAGE_TIMEOUT.toSeconds() + " s:\n"
          + StandaloneCluster.tail(cluster.log(name)));
    }
    int rc = p.exitValue();
    System.out.printf("[cluster] %s exited %d%n", name, rc);
    if (rc != 0) {
      System.out.println(StandaloneCluster.tail(cluster.log(name)));
    }
    return rc;
  }

  static void awaitCommits(Path run, int n, Process driver) {
    StandaloneCluster.await(n + " commit markers in " + run, STAGE_TIMEOUT, () -> {
      if (!driver.isAlive()) {
        throw new IllegalStateException("driver exited " + driver.exitValue() + " early");
      }
      return commits(run) >= n;
    });
  }

  static int commits(Path run) {
    Path d = run.resolve("commits");
    if (!Files.isDirectory(d)) {
      return 0;
    }
    try (var s = Files.list(d)) {
      return (int) s.filter(p -> p.getFileName().toString().matches("unit-\\d{8}\\.json")).count();
    } catch (IOException e) {
      return 0;
    }
  }

  static int toCompute(String log) {
    Matcher m = TO_COMPUTE.matcher(log);
    int last = -1;
    while (m.find()) {
      last = Integer.parseInt(m.group(1));
    }
    assertTrue(last >= 0, "no \"units to compute\" line in:\n" + log);
    return last;
  }

  /** SHA-256 of every file under a directory (relative name to hex), ignoring Hadoop's .crc files. */
  static Map<String, String> digests(Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (var s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (Files.isRegularFile(p) && !p.getFileName().toString().endsWith(".crc")) {
          try (var in = Files.newInputStream(p)) {
            var md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int r; (r = in.read(buf)) > 0; ) {
              md.update(buf, 0, r);
            }
            out.put(dir.relativize(p).toString(), java.util.HexFormat.of().formatHex(md.digest()));
          } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
          }
        }
      }
    }
    return out;
  }

  static double secs(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
