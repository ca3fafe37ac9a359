package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.safetensors.Checkpoint;

/** The projection of Llama-2-70B against figures computed by hand from its published config. */
class ProjectionTest {

  @Test
  void llama2_70bPlanMatchesItsPublishedShapeAndTheSparseCheckpoint(@TempDir java.nio.file.Path dir) throws Exception {
    List<Planner.SourceTensor> src = Projection.shape("llama-2-70b");
    Plan plan = Planner.plan(src, TensorSelection.defaults(), 8, 32768);
    // per layer: q, o 8192 x 8192; k, v 1024 x 8192; gate, up 28672 x 8192; down 8192 x 28672
    long perLayer = 2L * 8192 * 8192 + 2L * 1024 * 8192 + 3L * 28672 * 8192;
    assertEquals(80 * perLayer, plan.numWeights());
    assertEquals(8_556_380_160L, plan.numBlocks()); // = 80 * perLayer / 8
    // units per layer: q, o 256 each; k, v 32 each; gate, up, down 896 each (blocks / 32768, whole)
    assertEquals(80 * (2 * 256 + 2 * 32 + 3 * 896), plan.numUnits());
    assertEquals(560, plan.tensors().size());
    assertEquals(163, plan.kept().size()); // embedding, head, final norm, 2 norms per layer
    assertEquals(2L * (2L * 32000 * 8192 + 161L * 8192), Projection.keptBytes(src, plan));

    // the same plan as the sparse header-only checkpoint PlannerTest writes with its own code
    PlannerTest.writeSparse70b(dir);
    List<Planner.SourceTensor> fromFiles = new ArrayList<>();
    try (Checkpoint c = Checkpoint.open(new Path(dir.toString()), new Configuration())) {
      for (Checkpoint.Tensor t : c.tensors().values()) {
        fromFiles.add(new Planner.SourceTensor(t.shard(), t.info()));
      }
    }
    Plan sparse = Planner.plan(fromFiles, TensorSelection.defaults(), 8, 32768);
    assertEquals(sparse.numBlocks(), plan.numBlocks());
    assertEquals(sparse.numUnits(), plan.numUnits());
    assertEquals(Projection.keptBytes(fromFiles, sparse), Projection.keptBytes(src, plan));

    String text = new Projection("Llama-2-70B", plan, "seedlm-4bit", 32, Projection.keptBytes(src, plan), 38.1,
        "a run", 10_000, "a rate").format();
    assertTrue(text.contains("8,556,380,160 blocks in 261,120 units"), text);
    assertTrue(text.contains("34.2 GB of codes (4.000 bits/weight)"), text); // 8,556,380,160 * 4 bytes
    assertTrue(text.contains("= 238 core-hours"), text); // 8,556,380,160 / 10,000 / 3600 = 237.7
    assertTrue(text.contains("38.1 bytes/block (a run) = 326.0 GB"), text);
  }

  @Test
  void unknownShapeIsNamedWithTheKnownOnes() {
    BadInputException e = assertThrows(BadInputException.class, () -> Projection.shape("llama-9-1t"));
    assertTrue(e.getMessage().contains("llama-2-70b") && e.getMessage().contains("--shape"), e.getMessage());
  }
}
