package org.seedlm.jobs.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * A real Spark standalone cluster on 127.0.0.1 for tests: one Master and N Workers (1 core, 1 GiB
 * each), every one a separate JVM started from the test JVM's own classpath. Workers launch
 * executors from a fake {@code SPARK_HOME} (a {@code RELEASE} file and {@code jars/} of symlinks to
 * the classpath jars); the classpath's directories (this project's classes) reach executors through
 * {@code spark.executor.extraClassPath}. Drivers are further JVMs running the seedlm CLI, so a test
 * can kill any of them. Every process started here (and its descendants, the executors) is killed
 * on {@link #close} and at JVM exit. All waits are bounded.
 */
final class StandaloneCluster implements AutoCloseable {

  /** Spark 4.2's JavaModuleOptions (docs: /work/shared/notes/ecosystem.md §1). */
  static final List<String> JVM_FLAGS = List.of("-XX:+IgnoreUnrecognizedVMOptions", "--add-modules=jdk.incubator.vector",
      "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
      "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
      "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED", "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
      "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
      "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
      "-Dio.netty.tryReflectionSetAccessible=true", "-Dio.netty.allocator.type=pooled",
      "-Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE",
      "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED");

  /**
   * Heap and JIT of the master, workers and drivers: they compute little, so C1 only and the serial
   * collector keep their start-up cheap on a small, busy machine.
   */
  static final List<String> DAEMON_OPTS = List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

  private static final ObjectMapper JSON = new ObjectMapper();

  final Path dir;
  final Path sparkHome;
  final Path logs;
  final List<String> classpath;
  final String executorClassPath;
  final int masterPort;
  final int masterUiPort;
  private final String javaBin;
  private Process master;
  private final Process[] workers;
  /** Everything started here, plus executors seen under killed workers: killed on close. */
  private final List<ProcessHandle> owned = new CopyOnWriteArrayList<>();
  private final Thread hook = new Thread(this::killAll, "standalone-cluster-cleanup");
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private StandaloneCluster(Path dir, int numWorkers) throws IOException {
    this.dir = dir;
    this.logs = Files.createDirectories(dir.resolve("logs"));
    this.classpath = testClassPath();
    this.javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    this.sparkHome = fakeSparkHome(dir.resolve("spark-home"), classpath);
    this.executorClassPath = classpath.stream().filter(e -> Files.isDirectory(Path.of(e)))
        .collect(Collectors.joining(File.pathSeparator));
    this.masterPort = freePort();
    this.masterUiPort = freePort();
    this.workers = new Process[numWorkers];
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Launches a master and {@code numWorkers} workers without waiting for them; call {@link
   * #awaitAliveWorkers} before submitting.
   */
  static StandaloneCluster launch(Path dir, int numWorkers) throws IOException {
    StandaloneCluster c = new StandaloneCluster(dir, numWorkers);
    try {
      c.master = c.launch("master", DAEMON_OPTS, "org.apache.spark.deploy.master.Master",
          List.of("--host", "127.0.0.1", "--port", Integer.toString(c.masterPort), "--webui-port",
              Integer.toString(c.masterUiPort)));
      for (int i = 0; i < numWorkers; i++) {
        c.startWorker(i);
      }
      return c;
    } catch (IOException | RuntimeException | Error e) {
      c.close();
      throw e;
    }
  }

  /** Launches a master and {@code numWorkers} workers and waits (bounded) until all workers are alive. */
  static StandaloneCluster start(Path dir, int numWorkers, Duration timeout) throws IOException {
    StandaloneCluster c = launch(dir, numWorkers);
    try {
      c.awaitAliveWorkers(numWorkers, timeout);
      return c;
    } catch (RuntimeException | Error e) {
      c.close();
      throw e;
    }
  }

  String masterUrl() {
    return "spark://127.0.0.1:" + masterPort;
  }

  void startWorker(int i) throws IOException {
    Path work = Files.createDirectories(dir.resolve("work-" + i));
    workers[i] = launch("worker-" + i, DAEMON_OPTS, "org.apache.spark.deploy.worker.Worker",
        List.of("--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", "0", "--work-dir",
            work.toString(), masterUrl()));
  }

  Process worker(int i) {
    return workers[i];
  }

  /** SIGKILLs worker {@code i}; its executors stay owned (they exit by themselves once the worker is gone). */
  void killWorker(int i) {
    Process w = workers[i];
    w.descendants().forEach(owned::add);
    w.destroyForcibly();
    try {
      w.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Restarts every dead worker and waits until all are alive. */
  void ensureWorkers(Duration timeout) throws IOException {
    for (int i = 0; i < workers.length; i++) {
      if (!workers[i].isAlive()) {
        startWorker(i);
      }
    }
    awaitAliveWorkers(workers.length, timeout);
  }

  /** The master's /json view, or null while it does not answer. */
  JsonNode masterState() {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + masterUiPort
          + "/json/")).timeout(Duration.ofSeconds(3)).GET().build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  int aliveWorkers() {
    JsonNode s = masterState();
    return s == null ? -1 : s.path("aliveworkers").asInt(-1);
  }

  void awaitAliveWorkers(int n, Duration timeout) {
    await("master with " + n + " alive workers", timeout, () -> {
      if (!master.isAlive()) {
        throw new IllegalStateException("Spark master exited: " + tail(logs.resolve("master.log")));
      }
      return aliveWorkers() == n;
    });
  }

  /**
   * Starts the seedlm CLI as a driver JVM against this cluster. {@code conf} is extra Spark conf; the
   * executors' classpath and the driver host are added here.
   */
  Process driver(String name, List<String> cliArgs, Map<String, String> conf) throws IOException {
    List<String> args = new ArrayList<>(cliArgs);
    args.addAll(List.of("--master", masterUrl(), "--conf", "spark.driver.host=127.0.0.1", "--conf",
        "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.executor.extraClassPath=" + executorClassPath));
    conf.forEach((k, v) -> args.addAll(List.of("--conf", k + "=" + v)));
    return launch(name, List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"), "org.seedlm.jobs.Cli",
        args);
  }

  Path log(String name) {
    return logs.resolve(name + ".log");
  }

  private Process launch(String name, List<String> jvmOpts, String mainClass, List<String> args)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBin);
    cmd.addAll(JVM_FLAGS);
    cmd.addAll(jvmOpts);
    cmd.addAll(List.of("-cp", String.join(File.pathSeparator, classpath), mainClass));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log(name).toFile()));
    Map<String, String> env = pb.environment();
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", "2.13");
    env.put("SPARK_CONF_DIR", sparkHome.resolve("conf").toString());
    env.remove("SEEDLM_CONF_DIR");
    env.remove("SPARK_MASTER");
    Process p = pb.start();
    owned.add(p.toHandle());
    return p;
  }

  @Override
  public void close() {
    killAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException ignored) {
      // already shutting down
    }
  }

  private void killAll() {
    List<ProcessHandle> all = new ArrayList<>();
    for (ProcessHandle h : owned) {
      h.descendants().forEach(all::add);
      all.add(h);
    }
    all.forEach(ProcessHandle::destroyForcibly);
    for (ProcessHandle h : all) {
      try {
        h.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // best effort
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Polls {@code condition} every 100 ms until true, failing after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long end = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException("Timed out after " + timeout.toSeconds() + " s waiting for " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("Interrupted waiting for " + what, e);
      }
    }
  }

  static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** The test JVM's classpath (surefire puts it in surefire.test.class.path; plain JVMs in java.class.path). */
  static List<String> testClassPath() {
    String cp = System.getProperty("surefire.test.class.path");
    if (cp == null || cp.isBlank()) {
      cp = System.getProperty("java.class.path");
    }
    List<String> out = Arrays.stream(cp.split(File.pathSeparator)).filter(e -> !e.isBlank())
        .filter(e -> Files.exists(Path.of(e))).filter(e -> !Path.of(e).getFileName().toString().startsWith("surefire"))
        .map(e -> Path.of(e).toAbsolutePath().toString()).distinct().toList();
    if (out.stream().noneMatch(e -> e.contains("spark-core"))) {
      throw new IllegalStateException("No Spark jar on the test classpath: " + cp);
    }
    return out;
  }

  private static Path fakeSparkHome(Path home, List<String> classpath) throws IOException {
    Path jars = Files.createDirectories(home.resolve("jars"));
    Files.createDirectories(home.resolve("conf"));
    Files.writeString(home.resolve("RELEASE"), "Spark 4.2.0 (fake SPARK_HOME of the seedlm cluster tests: jars/ "
        + "links to the test classpath)\n");
    int i = 0;
    for (String e : classpath) {
      Path p = Path.of(e);
      if (Files.isRegularFile(p) && e.endsWith(".jar")) {
        Path link = jars.resolve(String.format("%04d-%s", i++, p.getFileName()));
        if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.createSymbolicLink(link, p);
        }
      }
    }
    return home;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  static void deleteTree(Path p) {
    if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (var s = Files.walk(p)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> {
        try {
          Files.delete(f);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
