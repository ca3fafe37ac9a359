package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.codec.TensorCodecs;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.PlannedTensor;
import org.seedlm.pipeline.run.Verifier;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * Tensor-level codecs through the Spark jobs on the real stories260K (../shared/models): quantize (one unit per
 * tensor), assemble, verify, the error tables (one row per tensor), and a rerun that computes nothing and
 * reassembles a byte-identical packed model. The packed tensors decode to exactly what the codec gives on the
 * checkpoint's weights read directly.
 */
class TensorCodecEndToEndTest extends SparkTestBase {
  @ParameterizedTest
  @ValueSource(strings = {"int8-row", "ternary-g64-t0.7"})
  void quantizeAssembleVerifyErrorsAndResume(String name, @TempDir Path tmp) throws Exception {
    Path stories = LlamaEndToEndTest.STORIES;
    Assumptions.assumeTrue(Files.exists(stories.resolve("model.safetensors")),
        "../shared/models/stories260K is absent: skipping the tensor codec end-to-end test");
    String run = tmp.resolve("run").toString();
    QuantizeJob.Options o = new QuantizeJob.Options(stories.toString(), run, name, List.of(), List.of(), 16,
        "fail", SeedLmConf.KERNEL_DEFAULT, Set.of(), 0);
    QuantizeJob.Result q = QuantizeJob.run(spark, o, OUT);
    assertTrue(q.failures().isEmpty(), () -> q.failures().toString());
    List<PlannedTensor> tensors = q.plan().tensors();
    assertTrue(tensors.size() >= 7, "the linear weights of stories260K's transformer block: " + tensors.size());
    assertEquals(tensors.size(), q.plan().numUnits(), "one unit per tensor");
    AssembleJob.run(spark, run, 4L << 30, OUT);
    Verifier.Result v = VerifyJob.run(spark, run, OUT);
    assertTrue(v.ok(), v.problems().toString());
    assertEquals(tensors.size(), v.quantized());
    assertEquals(tensors.size(), v.blocks());

    TensorCodec codec = TensorCodecs.parse(name);
    Map<String, Long> bytes = new TreeMap<>();
    try (Checkpoint ck = Checkpoint.open(new org.apache.hadoop.fs.Path(stories.toString()), new Configuration());
        PackedModel pm = PackedModel.open(new org.apache.hadoop.fs.Path(run, "packed"), new Configuration())) {
      for (PlannedTensor t : tensors) {
        long[] shape = t.shape();
        int rows = Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[1]);
        float[] w = new float[rows * cols];
        ck.readFloats(t.name(), 0, w.length, w, 0);
        byte[] encoded = codec.encode(w, rows, cols);
        assertArrayEquals(encoded, pm.packedBytes(t.name()), t.name());
        assertArrayEquals(codec.decode(encoded, rows, cols), pm.decode(t.name()), t.name());
        bytes.put(t.name(), (long) encoded.length);
      }
    }

    // the error tables: one row per tensor, its bits the encoded length
    ErrorsJob.registerViews(spark, run);
    List<Row> rows = spark.sql("SELECT tensor, COUNT(*), SUM(bits), SUM(n), MAX(block), MAX(seed) FROM blocks "
        + "GROUP BY tensor ORDER BY tensor").collectAsList();
    assertEquals(bytes.size(), rows.size());
    for (Row r : rows) {
      String t = r.getString(0);
      assertEquals(1L, r.getLong(1), t);
      assertEquals(8 * bytes.get(t), r.getLong(2), t);
      assertEquals(0L, r.getLong(4), t);
      assertTrue(r.isNullAt(5), t + ": a tensor codec's row has no seed");
    }
    assertEquals(bytes.size(), spark.sql(ErrorsJob.tableSql("tensor")).count());
    assertEquals(0L, spark.sql("SELECT COUNT(*) FROM offsets").first().getLong(0));

    // a rerun computes nothing, and reassembly writes the same bytes
    Map<String, String> before = digests(tmp.resolve("run"));
    assertEquals(0, QuantizeJob.run(spark, o, OUT).pendingBefore());
    AssembleJob.run(spark, run, 4L << 30, OUT);
    assertEquals(before, digests(tmp.resolve("run")));
  }
}
