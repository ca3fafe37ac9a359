package org.seedlm.pipeline.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.BadInputException;

/** --device cpu|gpu|auto: the choice, the CPU fallback and its one log line, the refusal of gpu. */
class DevicesTest {
  @Test
  void checksTheChoice() {
    assertEquals("gpu", Devices.check(" GPU "));
    BadInputException e = assertThrows(BadInputException.class, () -> Devices.check("tpu"));
    assertEquals("Cannot use device \"tpu\": expected cpu, gpu or auto (set --device)", e.getMessage());
  }

  @Test
  void cpuNeverTouchesCuda() {
    List<String> log = new ArrayList<>();
    assertTrue(Devices.open("cpu", 0, log::add).isEmpty());
    assertTrue(log.isEmpty());
  }

  /** Where no GPU can be used (no fatbin, no libcuda or no device): auto falls back, gpu is refused. */
  @Test
  void withoutAGpuAutoRunsOnTheCpuAndGpuIsRefused() {
    List<String> log = new ArrayList<>();
    Optional<SeedLmAccelerator> a = Devices.open("auto", 0, log::add);
    Assumptions.assumeTrue(a.isEmpty(), () -> "a GPU is usable here: " + a.get().describe());
    assertEquals(1, log.size(), log::toString);
    assertTrue(log.get(0).startsWith("device auto: running SeedLM kernels on the CPU: "), log.get(0));
    assertTrue(!log.get(0).contains("\n"), () -> "one line: " + log.get(0));
    Devices.open("auto", 0, log::add);
    assertEquals(1, log.size(), "the reason is logged once");
    BadInputException e = assertThrows(BadInputException.class, () -> Devices.open("gpu", 0, log::add));
    assertTrue(e.getMessage().startsWith("Cannot use --device gpu: ") && e.getMessage().endsWith("(use --device cpu or auto)"),
        e.getMessage());
  }
}
