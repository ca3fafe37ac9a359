package org.seedlm.pipeline.alloc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.pack.Exporter;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.Assembler;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunFixture;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.run.Verifier;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.DType;

/**
 * The mixed packed model of an allocation: each tensor's packed bytes, codec and decode are its source run's,
 * it verifies against the sources' recorded codes and errors (and a wrong allocation does not), and it exports.
 */
class MixedModelTest {
  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();

  @AfterEach
  void forget() {
    UnitRunner.closeCachedFiles();
  }

  private RunFixture assembled(String dir, String codec) throws Exception {
    RunFixture f = RunFixture.create(tmp.resolve(dir), codec, -1).plan(8, "fail"); // same seed: the same model
    f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, conf);
    return f;
  }

  private static PackedModel open(RunDirectory r) throws Exception {
    return PackedModel.open(r.path(RunDirectory.PACKED), r.conf());
  }

  private Verifier.Result verify(RunDirectory run) throws Exception {
    Verifier.Items items = MixedModel.verifyItems(run);
    List<Verifier.ItemResult> results = new ArrayList<>();
    for (Verifier.Item i : items.items()) {
      results.add(Verifier.check(i, run.root().toString(), MixedModel.spec(run), conf));
    }
    return Verifier.summarize(items, results);
  }

  @Test
  void eachTensorComesFromItsRunAndTheModelVerifies() throws Exception {
    RunFixture a = assembled("a", "seedlm-4bit");
    RunFixture b = assembled("b", "rtn-sym-b4-g128");
    List<RunDirectory> sources = List.of(a.run, b.run);
    Map<String, Integer> choice = Map.of(RunFixture.DOWN, 1, RunFixture.Q, 0, RunFixture.UP, 1);
    RunDirectory out = RunDirectory.at(tmp.resolve("mixed").toString(), conf);
    MixedModel.build(sources, choice, 1000, 900, out, 1L << 30);
    assertTrue(MixedModel.isMixed(out));
    assertEquals(a.spec.model(), MixedModel.spec(out).model());

    try (PackedModel mixed = open(out)) {
      assertEquals(choice.keySet(), mixed.quantized().keySet());
      for (Map.Entry<String, Integer> e : choice.entrySet()) {
        try (PackedModel src = open(sources.get(e.getValue()))) {
          String t = e.getKey();
          assertEquals(src.codec(t).name(), mixed.codec(t).name(), t);
          assertArrayEquals(src.packedBytes(t), mixed.packedBytes(t), t);
          assertArrayEquals(src.decode(t), mixed.decode(t), t);
          assertArrayEquals(RunFixture.expectedDecode(src.codec(t), a.weights.get(t)), mixed.decode(t), t);
        }
      }
      assertEquals("seedlm-4bit", mixed.codec(RunFixture.Q).name());
      assertEquals("rtn-sym-b4-g128", mixed.codec(RunFixture.DOWN).name());
      try (PackedModel src = open(a.run)) {
        for (String kept : List.of(RunFixture.EMBED, RunFixture.NORM)) {
          Checkpoint s = src.checkpoint();
          Checkpoint m = mixed.checkpoint();
          assertArrayEquals(s.readBytes(kept, 0, (int) s.info(kept).byteLength()),
              m.readBytes(kept, 0, (int) m.info(kept).byteLength()), kept);
        }
      }
    }

    Verifier.Result ok = verify(out);
    assertTrue(ok.ok(), ok.problems().toString());
    assertEquals(3, ok.quantized());
    assertEquals(1 + 5 + 1, ok.blocks()); // DOWN (91) and UP (35): one RTN group of 128; Q: 40 weights in 5 blocks of 8
    // a wrong allocation file (DOWN claimed from the seedlm run) fails on the codes it recorded
    RunDirectory wrong = RunDirectory.at(tmp.resolve("mixed").toString(), conf);
    MixedModel.Allocation al = MixedModel.read(wrong);
    java.util.TreeMap<String, Integer> lie = new java.util.TreeMap<>(al.tensors());
    lie.put(RunFixture.DOWN, 0);
    wrong.writeJsonReplacing(wrong.path(MixedModel.ALLOCATION), new MixedModel.Allocation(al.format(), al.version(),
        al.modelFingerprint(), al.targetBits(), al.bits(), al.sources(), lie));
    Verifier.Result bad = verify(wrong);
    assertFalse(bad.ok());
    assertTrue(bad.problems().stream().anyMatch(p -> p.startsWith("tensor " + RunFixture.DOWN + " (stored as "
        + RunFixture.DOWN + ".packed): ")), bad.problems().toString());
    wrong.writeJsonReplacing(wrong.path(MixedModel.ALLOCATION), al);

    // it exports like any packed model
    java.nio.file.Path exp = tmp.resolve("export");
    Exporter.exportLocally(out.path(RunDirectory.PACKED), new Path(a.modelDir.toString()), new Path(exp.toString()),
        DType.F32, conf);
    try (Checkpoint c = Checkpoint.open(new Path(exp.toString()), conf); PackedModel mixed = open(out)) {
      float[] down = new float[91];
      c.readFloats(RunFixture.DOWN, 0, 91, down, 0);
      assertArrayEquals(mixed.decode(RunFixture.DOWN), down);
    }
  }

  @Test
  void refusesAnUnassembledSourceAndAFullOutput() throws Exception {
    RunFixture a = assembled("a", "seedlm-4bit");
    RunFixture b = RunFixture.create(tmp.resolve("b"), "rtn-sym-b4-g128", -1).plan(8, "fail");
    RunDirectory out = RunDirectory.at(tmp.resolve("mixed").toString(), conf);
    BadInputException e = assertThrows(BadInputException.class,
        () -> MixedModel.build(List.of(a.run, b.run), Map.of(RunFixture.DOWN, 1), 1, 1, out, 1L << 30));
    assertTrue(e.getMessage().startsWith("Cannot build the allocated model from run " + b.run.root()
        + ": it is not assembled"), e.getMessage());
    Files.createDirectories(tmp.resolve("full"));
    Files.writeString(tmp.resolve("full/x"), "x");
    RunDirectory full = RunDirectory.at(tmp.resolve("full").toString(), conf);
    BadInputException f = assertThrows(BadInputException.class,
        () -> MixedModel.build(List.of(a.run), Map.of(RunFixture.DOWN, 0), 1, 1, full, 1L << 30));
    assertTrue(f.getMessage().contains("it exists and is not an empty directory"), f.getMessage());
  }
}
