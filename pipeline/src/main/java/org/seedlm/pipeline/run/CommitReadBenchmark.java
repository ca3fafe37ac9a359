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
    RunDirectory run = RunDirectory.at(dir, conf);
    FileSystem fs = run.fs();
    if (run.committedUnits().cardinality() < n) {
      long t0 = System.nanoTime();
      boolean local = "file".equals(fs.getScheme());
      java.nio.file.Path localDir = local ? java.nio.file.Path.of(fs.makeQualified(run.path(RunDirectory.COMMITS)).toUri()) : null;
      if (local) {
        java.nio.file.Files.createDirectories(localDir);
      }
      java.util.stream.IntStream.range(0, n).parallel().forEach(u -> {
        CommitMarker m = new CommitMarker(u, "model.layers." + (u / 3264) + ".mlp.up_proj.weight", 32768L * u,
            32768, "blocks/unit-" + u + "/a.parquet", 1_200_000, "0".repeat(64), 262144, 1.5, 100.0, 0.01, 3.2,
            1_700_000_000_000L + u, "a", null);
        try {
          if (local) { // the test hook: plain files (the local file system's checksum files are optional)
            java.nio.file.Files.write(localDir.resolve(run.commitPath(u).getName()),
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
    for (int threads : new int[] {1, RunDirectory.COMMIT_READ_THREADS, 1, RunDirectory.COMMIT_READ_THREADS}) {
      long t0 = System.nanoTime();
      int read = run.readCommits(threads).size();
      System.out.printf(Locale.ROOT, "readCommits: %,d markers with %d reader(s) in %.2f s%n", read, threads,
          (System.nanoTime() - t0) / 1e9);
    }
    fs.close();
  }
}
