package org.seedlm.pipeline.run;

import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * How long reading every commit marker of a 70B-sized run takes: writes {@code N} markers (default 261,120, the
 * unit count of Llama-2-70B at 32,768 blocks per unit; no search, no Parquet) into {@code DIR/commits} of any
 * Hadoop path unless they are there, then times {@link RunDirectory#readCommits(int)} with 1 reader and with
 * {@link RunDirectory#COMMIT_READ_THREADS}.
 *
 * <p>Arguments: {@code DIR [N=261120]}; Hadoop settings (S3A endpoint, keys) as {@code -Dspark.hadoop.*}-style
 * system properties are not read: use a local or HDFS path, or a core-site.xml on the classpath.
 */
public final class CommitReadBenchmark {
  private CommitReadBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path dir = new Path(args[0]);
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 261_120;
    Configuration conf = new Configuration();
    FileSystem fs = dir.getFileSystem(conf);
    java.nio.file.Path plain = "file".equals(fs.getScheme())
        ? java.nio.file.Path.of(fs.makeQualified(new Path(dir, RunDirectory.COMMITS)).toUri()) : null;
    run(dir, n, conf, plain, new int[] {1, RunDirectory.COMMIT_READ_THREADS, 1, RunDirectory.COMMIT_READ_THREADS});
    fs.close();
  }

  /**
   * Writes {@code n} markers under {@code dir} unless they are there, then times {@link RunDirectory#readCommits}
   * once per entry of {@code threads}. {@code plainCommits}, when not null, is a local directory that holds the
   * run's {@code commits/} objects as plain files (the local file system, or an S3 test server's file store): the
   * test hook writes the markers there directly instead of through the {@code FileSystem}.
   */
  public static void run(Path dir, int n, Configuration conf, java.nio.file.Path plainCommits, int[] threads)
      throws Exception {
    RunDirectory run = RunDirectory.at(dir, conf);
    if (run.committedUnits().cardinality() < n) {
      long t0 = System.nanoTime();
      if (plainCommits != null) {
        java.nio.file.Files.createDirectories(plainCommits);
      }
      java.util.stream.IntStream.range(0, n).parallel().forEach(u -> {
        CommitMarker m = marker(u);
        try {
          if (plainCommits != null) {
            java.nio.file.Files.write(plainCommits.resolve(run.commitPath(u).getName()),
                RunDirectory.json().writeValueAsBytes(m));
          } else {
            run.writeJson(run.commitPath(u), m);
          }
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      System.out.printf(Locale.ROOT, "wrote %,d commit markers into %s in %.1f s%n", n, run.path(RunDirectory.COMMITS),
          (System.nanoTime() - t0) / 1e9);
    }
    long l0 = System.nanoTime();
    int listed = run.committedUnits().cardinality();
    System.out.printf(Locale.ROOT, "listing alone: %,d markers in %.2f s (%s)%n", listed, (System.nanoTime() - l0) / 1e9,
        run.fs().getScheme());
    run.deleteCommitIndex();
    for (int t : threads) {
      long t0 = System.nanoTime();
      int read = run.readCommits(t).size();
      System.out.printf(Locale.ROOT, "readCommits: %,d markers with %d reader(s) in %.2f s (%s)%n", read, t,
          (System.nanoTime() - t0) / 1e9, run.fs().getScheme());
    }
    long w0 = System.nanoTime();
    if (!run.writeCommitIndex(n)) {
      throw new IllegalStateException("not all " + n + " units are committed under " + run.path(RunDirectory.COMMITS));
    }
    printIndex("writeCommitIndex (reads the markers, then writes)", run, n, w0);
    timeIndexReads(run);
  }

  /**
   * Index mode: writes the commit index of {@code n} generated markers under {@code dir} (one PUT on S3; no marker
   * objects), then times {@link RunDirectory#readCommits} from it.
   */
  public static void runIndex(Path dir, int n, Configuration conf) throws Exception {
    RunDirectory run = RunDirectory.at(dir, conf);
    java.util.List<CommitMarker> markers = java.util.stream.IntStream.range(0, n).parallel()
        .mapToObj(CommitReadBenchmark::marker).toList();
    long w0 = System.nanoTime();
    CommitIndex.write(run, n, markers);
    printIndex("commit index written", run, n, w0);
    timeIndexReads(run);
  }

  /**
   * A marker shaped like a real one: two SHA-256s, a UUID attempt, errors and time as full doubles, the 8 exponent
   * offsets of 32,768 blocks at G = 4096 (derived from the unit id, so every run writes the same markers).
   */
  static CommitMarker marker(int u) {
    java.util.Random r = new java.util.Random(u);
    String attempt = java.util.UUID.nameUUIDFromBytes(("attempt " + u).getBytes()).toString();
    java.util.List<Integer> offsets = java.util.stream.IntStream.range(0, 8).map(i -> r.nextInt(5) - 2).boxed()
        .toList();
    return new CommitMarker(u, "model.layers." + (u / 3264) + ".mlp.up_proj.weight", 32768L * (u % 3264), 32768,
        RunDirectory.BLOCKS + "/" + String.format("unit-%08d", u) + "/" + attempt + ".parquet",
        1_200_000 + r.nextInt(1000), org.seedlm.pipeline.Sha256.of(("codes " + u).getBytes()), 262144,
        r.nextDouble() * 10, r.nextDouble() * 1000, r.nextDouble() * 0.1, r.nextDouble() * 4,
        1_700_000_000_000L + 13L * u, attempt, org.seedlm.pipeline.Sha256.of(("input " + u).getBytes()), offsets);
  }

  private static void printIndex(String what, RunDirectory run, int n, long t0) throws java.io.IOException {
    long bytes = run.fs().getFileStatus(run.path(RunDirectory.COMMIT_INDEX)).getLen();
    System.out.printf(Locale.ROOT, "%s: %,d markers into %s, %,d bytes (%.1f bytes per marker) in %.2f s (%s)%n",
        what, n, RunDirectory.COMMIT_INDEX, bytes, bytes / (double) n, (System.nanoTime() - t0) / 1e9,
        run.fs().getScheme());
  }

  private static void timeIndexReads(RunDirectory run) throws java.io.IOException {
    for (int rep = 0; rep < 3; rep++) {
      long t0 = System.nanoTime();
      int read = run.readCommits().size();
      System.out.printf(Locale.ROOT, "readCommits from the commit index: %,d markers in %.2f s (%s)%n", read,
          (System.nanoTime() - t0) / 1e9, run.fs().getScheme());
    }
  }
}
