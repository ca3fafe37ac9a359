package org.seedlm.jobs.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.jobs.CliRun;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * Commands that run without Spark ({@code tensors}, {@code status}, {@code eval}...) read object storage with the
 * same {@code --conf spark.hadoop.*} settings the Spark commands take: here {@code tensors} lists a checkpoint on
 * an in-process S3Proxy reached only through those flags.
 */
class ConfReachesEveryReadTest {

  @Test
  void tensorsReadsS3aWithTheConfFlags(@TempDir Path tmp) throws Exception {
    Path model = tmp.resolve("model.safetensors");
    float[] w = new float[64 * 32];
    for (int i = 0; i < w.length; i++) {
      w[i] = (i % 7 - 3) * 0.01f;
    }
    try (var out = Files.newOutputStream(model)) {
      new SafetensorsWriter().addF32("model.layers.0.mlp.up_proj.weight", new long[] {64, 32}, w).writeTo(out);
    }
    Path base = tmp.resolve("s3");
    try (S3ProxyServer server = S3ProxyServer.start("seedlm-access", "seedlm-secret-key", base)) {
      S3Endpoint s3 = server.endpoint();
      s3.createBuckets("models");
      s3.upload("models", "tiny", model);

      List<String> args = new ArrayList<>(List.of("tensors", "--model", "s3a://models/tiny"));
      s3.sparkConf().forEach((k, v) -> args.addAll(List.of("--conf", k + "=" + v)));
      String[] r = CliRun.run(args.toArray(new String[0]));
      assertEquals("0", r[0], r[1] + r[2]);
      assertTrue(r[1].contains("model.layers.0.mlp.up_proj.weight"), r[1]);
      assertTrue(r[1].contains("s3a://models/tiny: 1 tensors in 1 file(s)"), r[1]);
    } finally {
      UnitRunner.closeCachedFiles();
      FileSystem.closeAll(); // Hadoop caches one S3A client per bucket: never hand it to the next class
    }
  }
}
