package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.safetensors.SafetensorsFile;

/**
 * A run made as before format version 2 (run spec without G and rule, commit markers without offsets)
 * still assembles into a version 1 packed model, whose codes are the version 1 codec's (rule nearest, no
 * offsets), and which decodes and verifies; resuming it with version 2 options is refused.
 */
class FormatVersion1Test {
  @TempDir java.nio.file.Path tmp;

  @AfterEach
  void forget() {
    UnitRunner.closeCachedFiles();
  }

  private RunFixture version1Run() throws Exception {
    RunFixture f = RunFixture.create(tmp, "seedlm-c8-p3-k8", -1).plan(8, "fail", Map.of());
    assertEquals(Map.of("C", "8", "P", "3", "K", "8"), f.spec.codecParams()); // the version 1 run.json
    f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    // markers as written before version 2: no offsets field at all
    for (CommitMarker m : f.run.readCommits().values()) {
      f.run.fs().delete(f.run.commitPath(m.unit()), false);
      f.run.writeJson(f.run.commitPath(m.unit()), new CommitMarker(m.unit(), m.tensor(), m.firstBlock(), m.rows(),
          m.file(), m.fileBytes(), m.codeSha256(), m.weights(), m.sqErr(), m.sqNorm(), m.maxAbsErr(), m.seconds(),
          m.finishedAtMillis(), m.attempt(), m.inputSha256()));
    }
    assertNull(f.run.readCommit(0).offsets());
    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, f.conf);
    return f;
  }

  @Test
  void aVersion1RunAssemblesDecodesAndVerifies() throws Exception {
    RunFixture f = version1Run();
    Path packed = new Path(f.runDir.resolve("packed").toString());
    try (SafetensorsFile file = SafetensorsFile.open(new Path(packed, "model.safetensors"), f.conf)) {
      assertEquals("1", file.metadata().get(PackedFormat.KEY_VERSION));
      String json = file.metadata().get(PackedFormat.KEY_TENSOR_PREFIX + RunFixture.DOWN);
      // exactly the version 1 metadata: no G, no rule, no offsets
      assertEquals("{\"codec\":\"seedlm-c8-p3-k8\",\"params\":{\"C\":\"8\",\"K\":\"8\",\"P\":\"3\"},\"blockSize\":8,"
          + "\"bitsPerBlock\":24,\"blocks\":12,\"shape\":[7,13],\"dtype\":\"F32\",\"flags\":0}", json);
    }
    SeedLmCodec v1 = new SeedLmCodec(new SeedLmParams(8, 3, 8));
    try (PackedModel pm = PackedModel.open(packed, f.conf)) {
      for (String name : f.weights.keySet()) {
        assertArrayEquals(new int[0], pm.offsets(name));
        float[] w = f.weights.get(name);
        int blocks = (w.length + 7) / 8;
        float[] padded = java.util.Arrays.copyOf(w, blocks * 8);
        byte[] want = new byte[(int) v1.packedBytes(blocks)];
        v1.encode(padded, 0, blocks, want, 0);
        assertArrayEquals(want, pm.packedBytes(name), name);
        assertArrayEquals(RunFixture.expectedDecode(v1, w), pm.decode(name), name);
      }
    }
    Verifier.Items items = Verifier.items(f.run);
    List<Verifier.ItemResult> results = new ArrayList<>();
    for (Verifier.Item i : items.items()) {
      results.add(Verifier.check(i, f.runDir.toString(), f.spec, f.conf));
    }
    assertEquals(List.of(), Verifier.summarize(items, results).problems());
  }

  @Test
  void resumingAVersion1RunWithVersion2OptionsIsRefused() throws Exception {
    RunFixture f = version1Run();
    SeedLmCodec v2 = new SeedLmCodec(new SeedLmParams(8, 3, 8), org.seedlm.pipeline.codec.CoefficientRule.BEST, 8);
    RunSpec asked = new RunSpec(f.spec.format(), f.spec.version(), f.spec.model(), f.spec.modelFingerprint(),
        v2.name(), v2.params(), f.spec.include(), f.spec.exclude(), f.spec.unitBlocks(), f.spec.nonFinite(),
        f.spec.modelContent());
    RunMismatchException e = assertThrows(RunMismatchException.class, () -> f.run.initOrCheck(asked));
    assertTrue(e.getMessage().contains(
        "coefficient rule (--coefficients): the run has nearest, this command asks for best"), e.getMessage());
    assertTrue(e.getMessage().contains("group-blocks G (--group-blocks; 0 = format version 1, no exponent "
        + "offsets): the run has 0, this command asks for 8"), e.getMessage());
    assertFalse(e.getMessage().contains("codec parameters"), e.getMessage());
    // the same options as the run are accepted
    assertEquals(List.of(), f.run.initOrCheck(f.spec));
  }
}
