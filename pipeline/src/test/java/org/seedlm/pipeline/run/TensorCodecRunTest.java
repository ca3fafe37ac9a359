package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.codec.TensorCodecs;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedFormat.TensorMeta;
import org.seedlm.pipeline.pack.PackedModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A run of a tensor-level codec without an engine: quantize (one unit and one row per tensor), assemble
 * ({@link TensorAssembler}), verify ({@link Verifier}), and the packed model's decode against the codec applied to
 * the fixture's original weights independently of the run.
 */
class TensorCodecRunTest {
  @TempDir
  Path tmp;

  @AfterEach
  void forgetFiles() {
    UnitRunner.closeCachedFiles();
  }

  private static Verifier.Result verify(RunFixture f) throws Exception {
    Verifier.Items items = Verifier.items(f.run);
    List<Verifier.ItemResult> results = new ArrayList<>();
    for (Verifier.Item item : items.items()) {
      results.add(Verifier.check(item, f.runDir.toString(), f.spec, f.conf));
    }
    return Verifier.summarize(items, results);
  }

  private RunFixture quantizeAndAssemble(String codec) throws Exception {
    RunFixture f = RunFixture.create(tmp, codec, -1).planTensorCodec("fail");
    for (UnitRunner.Outcome o : f.runAll()) {
      assertTrue(o.committed(), o.toString());
    }
    TensorAssembler.assembleLocally(f.run, f.spec, f.plan, 1L << 30, f.conf);
    return f;
  }

  @ParameterizedTest
  @ValueSource(strings = {"int8-row", "ternary-g64-t0.7", "ternary5-g64-t0.5", "kashin"})
  void packedTensorIsTheCodecsEncodingOfTheOriginalAndVerifies(String name) throws Exception {
    RunFixture f = quantizeAndAssemble(name);
    assertEquals(f.weights.size(), f.plan.tensors().size());
    assertEquals(f.plan.tensors().size(), f.plan.numUnits(), "one unit per tensor");
    TensorCodec codec = TensorCodecs.parse(name);
    try (PackedModel pm = PackedModel.open(new org.apache.hadoop.fs.Path(f.run.path(RunDirectory.PACKED).toString()),
        f.conf)) {
      assertEquals(f.weights.keySet(), pm.quantized().keySet());
      for (Map.Entry<String, float[]> e : f.weights.entrySet()) {
        long[] shape = f.shapes.get(e.getKey());
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        byte[] expected = codec.encode(e.getValue(), rows, cols);
        TensorMeta meta = pm.quantized().get(e.getKey());
        assertTrue(meta.isTensorCodec());
        assertEquals(codec.name(), meta.codec());
        assertEquals((long) expected.length, meta.bytes());
        assertArrayEquals(expected, pm.packedBytes(e.getKey()), e.getKey());
        assertArrayEquals(codec.decode(expected, rows, cols), pm.decode(e.getKey()), e.getKey());
        assertEquals(8L * expected.length, pm.storedBits(e.getKey()));
      }
    }
    if (name.equals("int8-row")) { // FORMAT.md section 3's example: 4 + 2 header bytes, 4 rows of 16 + 80 bits
      try (PackedModel pm = PackedModel.open(
          new org.apache.hadoop.fs.Path(f.run.path(RunDirectory.PACKED).toString()), f.conf)) {
        assertEquals("{\"codec\":\"int8-row\",\"params\":{\"outlier-sigma\":\"6\",\"scale\":\"fp16 per row\"},"
            + "\"blockSize\":0,\"bitsPerBlock\":0,\"blocks\":1,\"shape\":[4,10],\"dtype\":\"BF16\",\"flags\":0,"
            + "\"bytes\":54}", pm.quantized().get(RunFixture.Q).toJson());
      }
    }
    Verifier.Result r = verify(f);
    assertTrue(r.ok(), r.problems().toString());
    assertEquals(f.weights.size(), r.quantized());
    assertEquals(f.weights.size(), r.blocks(), "one row per tensor checked");
    assertEquals(0.0, r.maxAbsDiff());
  }

  @Test
  void reassemblyIsByteIdentical() throws Exception {
    RunFixture f = quantizeAndAssemble("ternary-g64-t0.7");
    Path packed = f.runDir.resolve(RunDirectory.PACKED);
    byte[] shard = Files.readAllBytes(packed.resolve("model.safetensors"));
    byte[] manifest = Files.readAllBytes(packed.resolve(PackedFormat.MANIFEST));
    TensorAssembler.assembleLocally(f.run, f.spec, f.plan, 1L << 30, f.conf);
    assertArrayEquals(shard, Files.readAllBytes(packed.resolve("model.safetensors")));
    assertArrayEquals(manifest, Files.readAllBytes(packed.resolve(PackedFormat.MANIFEST)));
  }

  @Test
  void verifyFindsAChangedCheckpoint() throws Exception {
    RunFixture f = quantizeAndAssemble("int8-row");
    // same names, shapes and dtypes, other values: the recorded input hashes and errors no longer match
    RunFixture.create(tmp, "int8-row", -1, 7);
    UnitRunner.closeCachedFiles();
    Verifier.Result r = verify(f);
    assertFalse(r.ok());
    String all = String.join("\n", r.problems());
    assertTrue(all.contains("the checkpoint bytes it reads now have SHA-256"), all);
    assertTrue(all.contains("recorded sq_err"), all);
  }

  @Test
  void badCodecNamesAndParametersAreBadInput() {
    BadInputException unknown = assertThrows(BadInputException.class, () -> TensorCodecs.parse("ternary-g64"));
    assertTrue(unknown.getMessage().contains("ternary-g64") && unknown.getMessage().contains("known:"),
        unknown.getMessage());
    BadInputException group = assertThrows(BadInputException.class, () -> TensorCodecs.parse("ternary-g0-t0.7"));
    assertTrue(group.getMessage().contains("groupSize=0"), group.getMessage());
    // a run spec (or packed metadata) whose parameters are not the name's
    BadInputException params = assertThrows(BadInputException.class,
        () -> TensorCodecs.parse("int8-row", Map.of("outlier-sigma", "3")));
    assertTrue(params.getMessage().contains("int8-row"), params.getMessage());
  }
}
