package org.seedlm.jobs.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.run.RunDirectory;

/**
 * Exclusive publish (commit markers, run.json, plan.json) on S3A against a real S3 endpoint: of
 * several writers racing for the same key, exactly one wins and the key holds the winner's bytes. On
 * S3 a check-then-write cannot promise that; the conditional PUT (If-None-Match: *) can.
 */
class S3ExclusivePublishTest {

  @Test
  void racingPublishersOneWinnerPerKeyAndItsBytes(@TempDir Path tmp) throws Exception {
    try (S3ProxyServer s3 = S3ProxyServer.start("racer", "racer-secret-key", tmp.resolve("blobs"))) {
      s3.endpoint().createBuckets("runs");
      Configuration conf = s3.endpoint().apply(new Configuration());
      conf.setBoolean("fs.s3a.impl.disable.cache", true);
      RunDirectory run = RunDirectory.at("s3a://runs/race", conf);
      FileSystem fs = run.fs();
      int writers = 6;
      int keys = 12;
      ExecutorService pool = Executors.newFixedThreadPool(writers);
      try {
        for (int k = 0; k < keys; k++) {
          org.apache.hadoop.fs.Path dst = run.path("commits/unit-" + k + ".json");
          CyclicBarrier start = new CyclicBarrier(writers);
          List<Future<Boolean>> won = new ArrayList<>();
          for (int w = 0; w < writers; w++) {
            int id = w;
            org.apache.hadoop.fs.Path staging = run.path("commits/_tmp/unit-" + k + ".json.attempt-" + w);
            byte[] bytes = ("{\"attempt\":" + id + "}").getBytes(StandardCharsets.UTF_8);
            won.add(pool.submit(() -> {
              start.await();
              return run.createExclusive(dst, staging, bytes);
            }));
          }
          int winner = -1;
          int winners = 0;
          for (int w = 0; w < writers; w++) {
            if (won.get(w).get()) {
              winners++;
              winner = w;
            }
          }
          assertEquals(1, winners, "key " + k + ": exactly one publisher wins");
          byte[] got;
          try (InputStream in = fs.open(dst)) {
            got = in.readAllBytes();
          }
          assertArrayEquals(("{\"attempt\":" + winner + "}").getBytes(StandardCharsets.UTF_8), got,
              "key " + k + " holds the winner's bytes");
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }
}
