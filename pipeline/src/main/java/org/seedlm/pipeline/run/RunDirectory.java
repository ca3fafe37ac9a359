package org.seedlm.pipeline.run;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * A run directory on any Hadoop file system (local, HDFS, S3A). Layout:
 *
 * <pre>
 * run.json                              immutable run spec, written first
 * plan.json                             the plan (tensors, units), written once
 * blocks/unit-NNNNNNNN/ATTEMPT.parquet  per-block rows of one unit attempt
 * commits/unit-NNNNNNNN.json            commit marker: the unit's winning file, row count, sums, checksum
 * failures/unit-NNNNNNNN.json           last failure of a unit not yet committed
 * packed/                               the assembled packed model and manifest.json
 * reports/                              error tables written by {@code errors --out}
 * </pre>
 *
 * <p>Only files named by commit markers belong to the run; everything else under {@code blocks/}
 * (retried or speculative attempts) is ignored and may be deleted.
 */
public final class RunDirectory {

  public static final String SPEC = "run.json";
  public static final String PLAN = "plan.json";
  public static final String BLOCKS = "blocks";
  public static final String COMMITS = "commits";
  public static final String FAILURES = "failures";
  public static final String PACKED = "packed";
  public static final String REPORTS = "reports";
  /**
   * Every commit marker of a complete run in one gzip-compressed object, so that readers of a finished run do one
   * GET instead of listing and reading hundreds of thousands of markers (see {@link #writeCommitIndex} and
   * {@link CommitIndex} for the format).
   */
  public static final String COMMIT_INDEX = CommitIndex.FILE;

  static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final Path root;
  private final Configuration conf;
  private final FileSystem fs;

  private RunDirectory(Path root, Configuration conf) throws IOException {
    this.root = root;
    this.conf = conf;
    this.fs = root.getFileSystem(conf);
  }

  public static RunDirectory at(Path root, Configuration conf) throws IOException {
    return new RunDirectory(root, conf);
  }

  public static RunDirectory at(String root, Configuration conf) throws IOException {
    return new RunDirectory(new Path(root), conf);
  }

  public Path root() {
    return root;
  }

  public FileSystem fs() {
    return fs;
  }

  public Configuration conf() {
    return conf;
  }

  public Path path(String relative) {
    return new Path(root, relative);
  }

  // ---------------------------------------------------------------- spec and plan

  /** Whether a run spec exists here. */
  public boolean exists() throws IOException {
    return fs.exists(path(SPEC));
  }

  /** The stored run spec. */
  public RunSpec readSpec() throws IOException {
    Path p = path(SPEC);
    if (!fs.exists(p)) {
      throw new FileNotFoundException(String.format(
          "Cannot open run %s: no %s (is this a run directory? create one with `seedlm quantize`)", root, SPEC));
    }
    return readJson(p, RunSpec.class);
  }

  /**
   * Writes {@code asked} as the run spec if the directory has none, otherwise checks that it equals
   * the stored one.
   *
   * @return what the stored spec does not record and so is not checked ({@link RunSpec#notRecorded}),
   *     for the caller to print once; empty for a new run
   * @throws RunMismatchException listing every difference
   */
  public List<String> initOrCheck(RunSpec asked) throws IOException {
    if (!exists() && writeJsonExclusive(path(SPEC), asked)) {
      return List.of();
    }
    RunSpec stored = readSpec();
    List<String> diffs = stored.differences(asked);
    if (!diffs.isEmpty()) {
      throw new RunMismatchException(String.format(
          "Cannot use run directory %s: it was created with other inputs:%n  - %s%n"
              + "Use a new run directory, or repeat the options the run was created with.",
          root, String.join("\n  - ", diffs)));
    }
    return stored.notRecorded();
  }

  /** Writes the plan unless present; returns the stored plan (which must equal {@code plan}). */
  public Plan writeOrCheckPlan(Plan plan) throws IOException {
    Path p = path(PLAN);
    if (!fs.exists(p) && writeJsonExclusive(p, plan)) {
      return plan;
    }
    Plan stored = readPlan();
    if (!stored.equals(plan)) {
      throw new RunMismatchException(String.format(
          "Cannot use run directory %s: its %s differs from the plan of the same spec "
              + "(was it edited by hand?). Use a new run directory.", root, PLAN));
    }
    return stored;
  }

  public Plan readPlan() throws IOException {
    Path p = path(PLAN);
    if (!fs.exists(p)) {
      throw new FileNotFoundException(String.format(
          "Cannot open run %s: no %s yet (run `seedlm quantize` first)", root, PLAN));
    }
    return readJson(p, Plan.class);
  }

  // ---------------------------------------------------------------- units

  public Path commitPath(int unit) {
    return new Path(path(COMMITS), String.format("unit-%08d.json", unit));
  }

  public Path failurePath(int unit) {
    return new Path(path(FAILURES), String.format("unit-%08d.json", unit));
  }

  public Path unitDataDir(int unit) {
    return new Path(path(BLOCKS), String.format("unit-%08d", unit));
  }

  /** Ids of committed units (from the names under {@code commits/}). */
  public BitSet committedUnits() throws IOException {
    return unitIdsIn(COMMITS);
  }

  /** Ids of units with a failure record. */
  public BitSet failedUnits() throws IOException {
    return unitIdsIn(FAILURES);
  }

  private BitSet unitIdsIn(String dir) throws IOException {
    BitSet ids = new BitSet();
    Path d = path(dir);
    if (!fs.exists(d)) {
      return ids;
    }
    // a plain listing: listFiles would also look up block locations, one call per file (3 ms each locally)
    RemoteIterator<FileStatus> it = fs.listStatusIterator(d);
    while (it.hasNext()) {
      String name = it.next().getPath().getName();
      if (name.startsWith("unit-") && name.endsWith(".json")) {
        try {
          ids.set(Integer.parseInt(name.substring(5, name.length() - 5)));
        } catch (NumberFormatException ignored) {
          // not ours
        }
      }
    }
    return ids;
  }

  /** Units of the plan without a commit marker, in id order. */
  public List<WorkUnit> pendingUnits(Plan plan) throws IOException {
    BitSet done = committedUnits();
    List<WorkUnit> out = new ArrayList<>();
    for (int i = done.nextClearBit(0); i < plan.numUnits(); i = done.nextClearBit(i + 1)) {
      out.add(plan.unit(i));
    }
    return out;
  }

  public CommitMarker readCommit(int unit) throws IOException {
    return readJson(commitPath(unit), CommitMarker.class);
  }

  /** Commit markers read at the same time by {@link #readCommits} (one small GET each on object stores). */
  public static final int COMMIT_READ_THREADS = Integer.getInteger("seedlm.commitReadThreads", 32);

  /**
   * All commit markers, keyed by unit id: one listing, then the markers read by {@link #COMMIT_READ_THREADS}
   * threads at once (a 70B run has about 261,000 of them: read one by one on S3 that is hours).
   */
  public TreeMap<Integer, CommitMarker> readCommits() throws IOException {
    return readCommits(COMMIT_READ_THREADS);
  }

  /**
   * Writes {@link #COMMIT_INDEX} from the markers under {@code commits/} when all {@code planUnits} units are
   * committed (replacing any older index); returns whether it did. The quantize driver calls it when a run
   * completes, and {@link #deleteCommitIndex} before it computes any unit, so an index never lags the markers.
   */
  public boolean writeCommitIndex(int planUnits) throws IOException {
    TreeMap<Integer, CommitMarker> markers = readMarkers(COMMIT_READ_THREADS);
    if (markers.size() != planUnits || (planUnits > 0 && markers.lastKey() != planUnits - 1)) {
      return false;
    }
    CommitIndex.write(this, planUnits, markers.values());
    return true;
  }

  /** Removes the commit index (before units are computed again: it would no longer list every marker). */
  public void deleteCommitIndex() throws IOException {
    fs.delete(path(CommitIndex.FILE), false);
    fs.delete(path(CommitIndex.VERSION_1_FILE), false);
  }

  /** Whether the run has a commit index (of this or an older version). */
  public boolean hasCommitIndex() throws IOException {
    return fs.exists(path(CommitIndex.FILE)) || fs.exists(path(CommitIndex.VERSION_1_FILE));
  }

  /**
   * {@link #readCommits()} with {@code threads} readers; a complete run's {@link #COMMIT_INDEX}, when present,
   * is read instead (one GET).
   */
  public TreeMap<Integer, CommitMarker> readCommits(int threads) throws IOException {
    TreeMap<Integer, CommitMarker> indexed = CommitIndex.read(this);
    return indexed != null ? indexed : readMarkers(threads);
  }

  /** The markers under {@code commits/}: one listing, then read by {@code threads} readers. */
  private TreeMap<Integer, CommitMarker> readMarkers(int threads) throws IOException {
    BitSet ids = committedUnits();
    int[] units = ids.stream().toArray();
    CommitMarker[] markers = new CommitMarker[units.length];
    if (units.length <= 1 || threads <= 1) {
      for (int k = 0; k < units.length; k++) {
        markers[k] = readCommit(units[k]);
      }
    } else {
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
          Math.min(threads, units.length), r -> {
            Thread t = new Thread(r, "seedlm-commit-read");
            t.setDaemon(true);
            return t;
          });
      try {
        int chunk = Math.max(1, units.length / (4 * threads));
        List<java.util.concurrent.Future<?>> parts = new ArrayList<>();
        for (int from = 0; from < units.length; from += chunk) {
          int lo = from;
          int hi = Math.min(units.length, from + chunk);
          parts.add(pool.submit(() -> {
            for (int k = lo; k < hi; k++) {
              markers[k] = readCommit(units[k]);
            }
            return null;
          }));
        }
        for (java.util.concurrent.Future<?> f : parts) {
          f.get();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while reading the commit markers of " + root);
      } catch (java.util.concurrent.ExecutionException e) {
        Throwable c = e.getCause();
        if (c instanceof IOException io) {
          throw io;
        }
        if (c instanceof RuntimeException re) {
          throw re;
        }
        throw new IOException(c);
      } finally {
        pool.shutdownNow();
      }
    }
    TreeMap<Integer, CommitMarker> out = new TreeMap<>();
    for (int k = 0; k < units.length; k++) {
      out.put(units[k], markers[k]);
    }
    return out;
  }

  /**
   * Publishes a commit marker unless the unit is already committed, with {@link #createExclusive},
   * so a reader never sees a partial marker and exactly one attempt wins a unit.
   *
   * @return true if this call committed the unit; false if another attempt already had
   */
  public boolean commit(CommitMarker marker) throws IOException {
    Path fin = commitPath(marker.unit());
    if (fs.exists(fin)) {
      return false;
    }
    Path tmp = new Path(path(COMMITS + "/_tmp"), fin.getName() + "." + marker.attempt());
    if (!createExclusive(fin, tmp, JSON.writeValueAsBytes(marker))) {
      return false;
    }
    try {
      fs.delete(failurePath(marker.unit()), false);
    } catch (IOException e) {
      // the unit is committed: a stale failure record of a committed unit is ignored by readers
    }
    return true;
  }

  /**
   * Creates {@code dst} holding {@code bytes} only if it does not exist, atomically where the file
   * system allows it. S3A: one conditional PUT ({@code If-None-Match: *}, Hadoop's {@value
   * #CONDITIONAL_CREATE} create option), so the store, not a check before the write, decides which of
   * several racing writers creates {@code dst} (S3A's rename is a check, a copy and a delete: racing
   * writers would all win); a PUT is atomic, so no reader sees a partial object. Elsewhere the bytes
   * go to {@code tmp} first, which is then linked (local file system, whose rename would replace
   * {@code dst}) or renamed (HDFS refuses an existing destination) to {@code dst} and removed (best
   * effort once {@code dst} is published: failing to remove a leftover must not report a published
   * file as a failure).
   *
   * @return whether this call created {@code dst}
   */
  public boolean createExclusive(Path dst, Path tmp, byte[] bytes) throws IOException {
    if ("s3a".equals(fs.getUri().getScheme())) {
      return putIfAbsent(dst, bytes);
    }
    try (OutputStream out = fs.create(tmp, true)) {
      out.write(bytes);
    }
    boolean won;
    if ("file".equals(fs.getUri().getScheme())) {
      java.nio.file.Path target = java.nio.file.Paths.get(fs.makeQualified(dst).toUri());
      java.nio.file.Path source = java.nio.file.Paths.get(fs.makeQualified(tmp).toUri());
      try {
        java.nio.file.Files.createDirectories(target.getParent());
        java.nio.file.Files.createLink(target, source);
        won = true;
      } catch (java.nio.file.FileAlreadyExistsException e) {
        won = false;
      }
    } else {
      try {
        won = fs.rename(tmp, dst);
      } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
        won = false;
      }
      if (!won && !fs.exists(dst)) {
        throw new IOException("Cannot publish " + dst + ": rename from " + tmp + " failed");
      }
    }
    try {
      fs.delete(tmp, false);
    } catch (IOException e) {
      if (!won) {
        throw e;
      }
      // dst is published: a leftover temporary file must not turn that into a failure
    }
    return won;
  }

  private boolean putIfAbsent(Path dst, byte[] bytes) throws IOException {
    org.apache.hadoop.fs.FSDataOutputStreamBuilder<?, ?> create = fs.createFile(dst);
    create.overwrite(false);
    create.must(CONDITIONAL_CREATE, true);
    try (OutputStream out = create.build()) {
      out.write(bytes);
    } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
      return false; // found by the existence check before the write
    } catch (IOException e) {
      if (isPreconditionFailed(e)) {
        return false; // another writer created dst between that check and our PUT
      }
      throw e;
    }
    return true;
  }

  /** Hadoop's create option for a conditional (no-overwrite) create on object stores. */
  static final String CONDITIONAL_CREATE = "fs.option.create.conditional.overwrite";

  /**
   * Whether a failed conditional PUT lost to an existing object: S3A reports the store's HTTP 412 as
   * a {@code RemoteFileChangedException} whose cause is the SDK's exception with "Status Code: 412".
   */
  private static boolean isPreconditionFailed(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (t instanceof org.apache.hadoop.fs.FileAlreadyExistsException
          || m != null && m.contains("Status Code: 412")) {
        return true;
      }
    }
    return false;
  }

  /** Records the failure of a unit (overwriting an older record). */
  public void recordFailure(UnitFailure failure) throws IOException {
    writeJson(failurePath(failure.unit()), failure);
  }

  public UnitFailure readFailure(int unit) throws IOException {
    return readJson(failurePath(unit), UnitFailure.class);
  }

  /** Files of a directory, sorted by name ({@code []} if it does not exist). */
  public List<FileStatus> list(Path dir) throws IOException {
    if (!fs.exists(dir)) {
      return List.of();
    }
    List<FileStatus> out = new ArrayList<>(List.of(fs.listStatus(dir)));
    out.sort(java.util.Comparator.comparing(s -> s.getPath().getName()));
    return out;
  }

  // ---------------------------------------------------------------- JSON helpers

  public <T> T readJson(Path p, Class<T> type) throws IOException {
    try (InputStream in = fs.open(p)) {
      return JSON.readValue(in, type);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new org.seedlm.pipeline.BadInputException(String.format(
          "Cannot read %s: malformed JSON (%s); this run directory is damaged: use a new one", p,
          e.getOriginalMessage()), e);
    }
  }

  public void writeJson(Path p, Object value) throws IOException {
    try (OutputStream out = fs.create(p, true)) {
      JSON.writeValue(out, value);
    }
  }

  /**
   * Writes JSON to {@code p} only if it does not exist yet, with {@link #createExclusive} (no partial
   * file is ever visible; of two concurrent writers exactly one wins).
   *
   * @return whether this call created {@code p}
   */
  public boolean writeJsonExclusive(Path p, Object value) throws IOException {
    Path tmp = new Path(p.getParent(), "_tmp." + p.getName() + "." + java.util.UUID.randomUUID());
    return createExclusive(p, tmp, JSON.writeValueAsBytes(value));
  }

  /** Writes JSON under a temporary name, then moves it into place, replacing an older version. */
  public void writeJsonReplacing(Path p, Object value) throws IOException {
    Path tmp = new Path(p.getParent(), "_tmp." + p.getName() + "." + java.util.UUID.randomUUID());
    writeJson(tmp, value);
    fs.delete(p, false);
    if (!fs.rename(tmp, p)) {
      throw new IOException("Cannot write " + p + ": rename from " + tmp + " failed");
    }
  }

  public static ObjectMapper json() {
    return JSON;
  }
}
