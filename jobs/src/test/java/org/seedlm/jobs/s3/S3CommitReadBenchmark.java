package org.seedlm.jobs.s3;

import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.seedlm.pipeline.run.CommitReadBenchmark;
import org.seedlm.pipeline.run.RunDirectory;

/**
 * {@link CommitReadBenchmark} against S3: an in-process S3Proxy (as the S3A tests use it), the markers PUT and
 * read back through S3A.
 *
 * <p>Arguments: {@code [N=261120] [READERS=1,32] [SCRATCH=target/s3-commit-bench]}; READERS {@code index}: the
 * commit index of N generated markers PUT once and read back ({@link CommitReadBenchmark#runIndex}), no marker
 * objects (reading 261,120 markers one GET each did not finish in 7 minutes here).
 */
public final class S3CommitReadBenchmark {
  private S3CommitReadBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 261_120;
    String readerList = args.length > 1 ? args[1] : "1," + RunDirectory.COMMIT_READ_THREADS;
    boolean indexOnly = "index".equals(readerList);
    int[] readers = indexOnly ? new int[0]
        : java.util.Arrays.stream(readerList.split(",")).mapToInt(Integer::parseInt).toArray();
    Path scratch = Path.of(args.length > 2 ? args[2] : "target/s3-commit-bench").toAbsolutePath();
    try (S3ProxyServer s3 = S3ProxyServer.start("bench", "bench-secret", scratch)) {
      if (!java.nio.file.Files.isDirectory(scratch.resolve("runs"))) {
        s3.endpoint().createBuckets("runs");
      }
      Configuration conf = s3.endpoint().apply(new Configuration());
      conf.set("fs.s3a.connection.maximum", Integer.toString(RunDirectory.COMMIT_READ_THREADS * 2));
      // Markers are PUT through S3A: objects written into S3Proxy's file store directly have no ETag, which S3A
      // requires when it reads them.
      if (indexOnly) {
        CommitReadBenchmark.runIndex(new org.apache.hadoop.fs.Path("s3a://runs/index-bench-" + n), n, conf);
      } else {
        CommitReadBenchmark.run(new org.apache.hadoop.fs.Path("s3a://runs/bench"), n, conf, null, readers);
      }
      FileSystem.closeAll();
    }
  }
}
