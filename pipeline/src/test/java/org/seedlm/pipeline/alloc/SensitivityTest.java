package org.seedlm.pipeline.alloc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.run.Assembler;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunFixture;
import org.seedlm.pipeline.run.UnitRunner;

/**
 * The KL objective's stored measurements: written once per tensor, reused (no measurement) with the same model,
 * codec and settings, measured again when any of them differs, resumed after an interruption.
 */
class SensitivityTest {
  private static final String SETTINGS = "causal LM: 6 Brown passages, 12 cloze items, seed 1";
  private static final List<String> TENSORS = List.of("b.weight", "a.weight", "c.weight");

  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();
  private final ByteArrayOutputStream log = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);

  @AfterEach
  void forget() {
    UnitRunner.closeCachedFiles();
  }

  private static TensorCosts costs(String codec, String fingerprint) {
    Map<String, TensorCosts.Tensor> m = new LinkedHashMap<>();
    for (String t : TENSORS) {
      m.put(t, new TensorCosts.Tensor(t, 64, 256, 1.0, 10));
    }
    return new TensorCosts("run", codec, fingerprint, m);
  }

  /** A measure that records what it was asked: the KL of tensor t is its name's first letter's position / 100. */
  private static Sensitivity.TensorMeasure counting(List<String> asked) {
    return t -> {
      asked.add(t);
      return (t.charAt(0) - 'a' + 1) / 100.0;
    };
  }

  @Test
  void measuredOnceThenReusedAndMeasuredAgainWhenAnySettingDiffers() throws Exception {
    RunDirectory run = RunDirectory.at(tmp.resolve("run").toString(), conf);
    java.nio.file.Path file = tmp.resolve("run").resolve(Sensitivity.FILE);
    List<String> asked = new ArrayList<>();

    Map<String, Double> first = Sensitivity.of(run, costs("seedlm-4bit", "fp"), SETTINGS, counting(asked), out);
    assertEquals(TENSORS, asked); // every tensor once, in the runs' order
    assertEquals(TENSORS, List.copyOf(first.keySet()));
    assertEquals(Map.of("a.weight", 0.01, "b.weight", 0.02, "c.weight", 0.03), first);
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("[sensitivity] seedlm-4bit: tensor 3 of 3, c.weight"),
        log.toString(StandardCharsets.UTF_8));
    Sensitivity.Stored stored = run.readJson(run.path(Sensitivity.FILE), Sensitivity.Stored.class);
    assertEquals(new Sensitivity.Stored(Sensitivity.FORMAT, Sensitivity.VERSION, "fp", "seedlm-4bit", SETTINGS,
        Map.of("a.weight", 0.01, "b.weight", 0.02, "c.weight", 0.03)), stored);

    // the same model, codec and settings: nothing measured, the file untouched
    FileTime written = FileTime.fromMillis(1_000_000_000_000L);
    Files.setLastModifiedTime(file, written);
    asked.clear();
    assertEquals(first, Sensitivity.of(run, costs("seedlm-4bit", "fp"), SETTINGS, counting(asked), out));
    assertEquals(List.of(), asked);
    assertEquals(written, Files.getLastModifiedTime(file));

    // other settings, another model or another codec: never reused, measured again and replaced
    for (String[] other : new String[][] {{"seedlm-4bit", "fp", SETTINGS + ", 64 tokens"}, {"seedlm-4bit", "fp2",
        SETTINGS}, {"seedlm-3bit", "fp2", SETTINGS}}) {
      asked.clear();
      log.reset();
      Sensitivity.of(run, costs(other[0], other[1]), other[2], counting(asked), out);
      assertEquals(TENSORS, asked, String.join(" ", other));
      assertTrue(log.toString(StandardCharsets.UTF_8).contains("measuring " + other[0] + " again"),
          log.toString(StandardCharsets.UTF_8));
      Sensitivity.Stored now = run.readJson(run.path(Sensitivity.FILE), Sensitivity.Stored.class);
      assertEquals(List.of(other[0], other[1], other[2]), List.of(now.codec(), now.modelFingerprint(),
          now.evaluation()));
    }
  }

  @Test
  void anInterruptedMeasurementResumesWithTheMissingTensors() throws Exception {
    RunDirectory run = RunDirectory.at(tmp.resolve("run").toString(), conf);
    List<String> asked = new ArrayList<>();
    Sensitivity.TensorMeasure failsOnC = t -> {
      if (t.startsWith("c")) {
        throw new IOException("interrupted");
      }
      return counting(asked).kl(t);
    };
    assertThrows(IOException.class, () -> Sensitivity.of(run, costs("nf4-g64", "fp"), SETTINGS, failsOnC, out));
    assertEquals(List.of("b.weight", "a.weight"), asked);
    asked.clear();
    Map<String, Double> kl = Sensitivity.of(run, costs("nf4-g64", "fp"), SETTINGS, counting(asked), out);
    assertEquals(List.of("c.weight"), asked);
    assertEquals(Map.of("a.weight", 0.01, "b.weight", 0.02, "c.weight", 0.03), kl);
  }

  @Test
  void eachTensorIsMeasuredWithItsRunsDecodeAndANotAssembledRunIsRefused() throws Exception {
    RunFixture f = RunFixture.create(tmp.resolve("fixture"), "seedlm-4bit", -1).plan(8, "fail");
    f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    TensorCosts costs = TensorCosts.of(f.run);
    BadInputException notAssembled = assertThrows(BadInputException.class, () -> Sensitivity.of(f.run, costs,
        SETTINGS, (t, decoded) -> 0.0, out));
    assertTrue(notAssembled.getMessage().contains("run `seedlm assemble --run " + f.run.root() + "` first"),
        notAssembled.getMessage());

    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, conf);
    List<String> asked = new ArrayList<>();
    Map<String, Double> kl = Sensitivity.of(f.run, costs, SETTINGS, (t, decoded) -> {
      assertArrayEquals(f.expectedDecode(t), decoded, t); // the run's own tensor, decoded independently
      asked.add(t);
      return asked.size();
    }, out);
    assertEquals(List.copyOf(costs.tensors().keySet()), asked);
    assertEquals(List.copyOf(costs.tensors().keySet()), List.copyOf(kl.keySet()));
  }
}
