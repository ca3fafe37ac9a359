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
        CommitMarker m = new CommitMarker(u, "model.layers." + (u / 3264) + ".mlp.up_proj.weight", 32768L * u,
            32768, "blocks/unit-" + u + "/a.parquet", 1_200_000, "0".repeat(64), 262144, 1.5, 100.0, 0.01, 3.2,
            1_700_000_000_000L + u, "a", null);
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
    System.out.printf(Locale.ROOT, "writeCommitIndex: %,d markers into %s (%,d bytes) in %.2f s (%s)%n", n,
        RunDirectory.COMMIT_INDEX, run.fs().getFileStatus(run.path(RunDirectory.COMMIT_INDEX)).getLen(),
        (System.nanoTime() - w0) / 1e9, run.fs().getScheme());
    for (int rep = 0; rep < 2; rep++) {
      long t0 = System.nanoTime();
      int read = run.readCommits().size();
      System.out.printf(Locale.ROOT, "readCommits from the commit index: %,d markers in %.2f s (%s)%n", read,
          (System.nanoTime() - t0) / 1e9, run.fs().getScheme());
    }
  }
}
