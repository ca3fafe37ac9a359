package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.run.BlockRow;
import org.seedlm.pipeline.run.BlockTable;
import org.seedlm.pipeline.run.CommitMarker;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.Verifier;

/**
 * Verify on a real run (BERT layer 0 query and key, {@code seedlm-c8-p3-k8}, as in {@link
 * QuantizeJobTest}): a clean run verifies; one flipped bit in the packed model and one tampered
 * recorded error are caught, naming tensor and block.
 */
class VerifyJobTest extends SparkTestBase {

  static final String Q = "bert.encoder.layer.0.attention.self.query.weight";

  @TempDir
  static java.nio.file.Path tmp;

  static java.nio.file.Path clean;

  @BeforeAll
  static void quantizeAndAssemble() throws Exception {
    clean = tmp.resolve("clean");
    QuantizeJob.Result r = QuantizeJob.run(spark, QuantizeJobTest.options(clean.toString(), Set.of(), "fast"), OUT);
    assertTrue(r.failures().isEmpty(), () -> r.failures().toString());
    AssembleJob.run(spark, clean.toString(), 4L << 30, OUT);
  }

  @Test
  void aCleanRunVerifies() throws Exception {
    Verifier.Result r = VerifyJob.run(spark, clean.toString(), OUT);
    assertTrue(r.ok(), () -> String.join("\n", r.problems()));
    assertEquals(2L * 768 * 768 / 8, r.blocks());
    assertEquals(2, r.quantized());
    assertEquals(0.0, r.maxAbsDiff());
    assertTrue(r.files() >= 3, "model.safetensors, config.json, vocab.txt"); // side files travel too
    assertTrue(r.tensors() > 2);
  }

  @Test
  void aFlippedBitInThePackedModelIsCaughtNamingTensorAndBlock() throws Exception {
    java.nio.file.Path run = copyRun("flipped");
    java.nio.file.Path model = run.resolve("packed/model.safetensors");
    byte[] file = Files.readAllBytes(model);
    long headerLen = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    JsonNode header = RunDirectory.json().readTree(new String(file, 8, (int) headerLen, "UTF-8"));
    long start = header.path(Q + ".packed").path("data_offsets").get(0).asLong();
    int block = 1000; // 24-bit blocks: bytes 3000..3002; flip the lowest bit of the last coefficient
    int at = (int) (8 + headerLen + start + 3L * block + 2);
    file[at] ^= 1;
    Files.write(model, file);
    Files.deleteIfExists(run.resolve("packed/.model.safetensors.crc"));

    Verifier.Result r = VerifyJob.run(spark, run.toString(), OUT);
    assertFalse(r.ok());
    String all = String.join("\n", r.problems());
    assertTrue(all.contains("tensor " + Q + " (stored as " + Q + ".packed): block 1000: packed code"), all);
    assertTrue(all.contains("tensor " + Q + " (stored as " + Q + ".packed): block 1000: recorded sq_err"), all);
    assertTrue(all.contains("file model.safetensors: sha256"), all);
    assertTrue(all.contains("tensor " + Q + " (stored as " + Q + ".packed): sha256"), all);
    assertEquals(4, r.problems().size(), all); // nothing else: the other blocks and tensors still match
    assertTrue(r.maxAbsDiff() > 0);
  }

  @Test
  void aTamperedRecordedErrorIsCaughtNamingTensorAndBlock() throws Exception {
    java.nio.file.Path run = copyRun("tampered");
    Configuration conf = new Configuration();
    RunDirectory rd = RunDirectory.at(run.toString(), conf);
    long block = 12345;
    CommitMarker unit = rd.readCommits().values().stream()
        .filter(m -> m.tensor().equals(Q) && m.firstBlock() <= block && block < m.firstBlock() + m.rows())
        .findFirst().orElseThrow();
    Path file = rd.path(unit.file());
    List<BlockRow> rows = new ArrayList<>();
    for (BlockRow b : BlockTable.read(file, conf)) {
      rows.add(b.block() != block ? b : new BlockRow(b.tensor(), b.layer(), b.kind(), b.unit(), b.block(), b.codec(),
          b.code(), b.n(), b.bits(), Math.nextUp((float) b.sqErr()), b.sqNorm(), b.maxAbsErr()));
    }
    rd.fs().delete(file, false);
    BlockTable.write(file, conf, rows);

    Verifier.Result r = VerifyJob.run(spark, run.toString(), OUT);
    String all = String.join("\n", r.problems());
    assertEquals(1, r.problems().size(), all);
    assertTrue(all.startsWith("tensor " + Q + " (stored as " + Q + ".packed): block 12345: recorded sq_err"), all);
    // One float32 ulp of a stored sq_err of about 1e-3 (2^-33 = 1.2e-10).
    assertTrue(r.maxAbsDiff() > 0 && r.maxAbsDiff() < 1e-9, all);
  }

  static java.nio.file.Path copyRun(String name) throws IOException {
    java.nio.file.Path dst = tmp.resolve(name);
    try (var s = Files.walk(clean)) {
      for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) s::iterator) {
        java.nio.file.Path t = dst.resolve(clean.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
    return dst;
  }
}
