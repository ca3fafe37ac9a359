package org.seedlm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.BadInputException;

/** {@code --allocate} and {@code --objective}: what they accept, and bad values refused naming the option. */
class AllocateOptionsTest {
  @Test
  void allocateTargetsAreBitsPerWeightAndBlanksMeanNone() {
    assertEquals(List.of(3.0, 3.5, 4.13), Report.targets(List.of("3.0", " 3.5", "4.13 ")));
    assertEquals(List.of(), Report.targets(List.of("")));
    assertEquals(List.of(4.0), Report.targets(List.of("", "4")));
    for (String bad : new String[] {"x", "3,5", "0", "-1", "NaN"}) {
      BadInputException e = assertThrows(BadInputException.class, () -> Report.targets(List.of("3.0", bad)), bad);
      assertTrue(e.getMessage().startsWith("Cannot report: --allocate " + bad + " "), e.getMessage());
    }
  }

  @Test
  void objectiveIsSqErrOrKl() {
    assertEquals(Allocate.Objective.SQ_ERR, Allocate.Objective.parse("allocate", "sq-err"));
    assertEquals(Allocate.Objective.KL, Allocate.Objective.parse("report", "kl"));
    for (String bad : new String[] {"KL", "sqerr", "", "kl,sq-err"}) {
      BadInputException e = assertThrows(BadInputException.class, () -> Allocate.Objective.parse("report", bad), bad);
      assertTrue(e.getMessage().startsWith("Cannot report: --objective " + bad + " is not one of sq-err"),
          e.getMessage());
    }
  }

  @Test
  void theCliRefusesABadObjectiveWithExitCode2BeforeReadingAnyRun() {
    String[] r = CliRun.run("allocate", "--runs", "no/such/run", "--target-bpw", "4", "--objective", "entropy");
    assertEquals("2", r[0], r[1] + r[2]);
    assertTrue(r[2].contains("Cannot allocate: --objective entropy is not one of sq-err"), r[2]);
  }

  @Test
  void reportRefusesSensitivityItemsBelowOneBeforeStartingSpark(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
    String[] r = CliRun.run("report", "--work", tmp.toString(), "--objective", "kl", "--sensitivity-items", "0");
    assertEquals("2", r[0], r[1] + r[2]);
    assertTrue(r[2].contains("Cannot report: --sensitivity-items 0 must be at least 1"), r[2]);
  }
}
