package org.seedlm.pipeline.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.BadInputException;

/** Runs of one model become one item per tensor with an option per run; other runs are refused by name. */
class TensorCostsTest {
  static TensorCosts run(String name, String codec, String fp, long bits, double err, String... tensors) {
    Map<String, TensorCosts.Tensor> m = new java.util.LinkedHashMap<>();
    for (String t : tensors) {
      m.put(t, new TensorCosts.Tensor(t, 64, bits, err, 10));
    }
    return new TensorCosts(name, codec, fp, m);
  }

  @Test
  void itemsHaveOneOptionPerRunAndMismatchesAreRefused() {
    List<BitAllocator.Item> items = TensorCosts.items(List.of(run("a", "seedlm-3bit", "fp", 192, 2.0, "x", "y"),
        run("b", "seedlm-4bit", "fp", 256, 1.0, "x", "y")));
    assertEquals(2, items.size());
    assertEquals(List.of("seedlm-3bit", "seedlm-4bit"), items.get(0).options().stream().map(BitAllocator.Option::codec)
        .toList());
    assertEquals(256, items.get(1).options().get(1).bits());

    BadInputException model = assertThrows(BadInputException.class, () -> TensorCosts.items(List.of(
        run("a", "seedlm-3bit", "fp1", 192, 2.0, "x"), run("b", "seedlm-4bit", "fp2", 256, 1.0, "x"))));
    assertTrue(model.getMessage().contains("runs of different models: b"), model.getMessage());
    BadInputException sel = assertThrows(BadInputException.class, () -> TensorCosts.items(List.of(
        run("a", "seedlm-3bit", "fp", 192, 2.0, "x"), run("b", "seedlm-4bit", "fp", 256, 1.0, "x", "y"))));
    assertTrue(sel.getMessage().contains("quantized different tensors"), sel.getMessage());
  }

  @Test
  void anotherCostPerRunAndTensorReplacesTheSquaredError() {
    List<TensorCosts> runs = List.of(run("a", "seedlm-3bit", "fp", 192, 2.0, "x", "y"),
        run("b", "seedlm-4bit", "fp", 256, 1.0, "x", "y"));
    Map<String, Double> kl = Map.of("x", 0.5, "y", 0.25);
    List<BitAllocator.Item> items = TensorCosts.items(runs, (r, t) -> (r + 1) * kl.get(t.name()));
    assertEquals(List.of(0.5, 1.0), items.get(0).options().stream().map(BitAllocator.Option::cost).toList());
    assertEquals(List.of(0.25, 0.5), items.get(1).options().stream().map(BitAllocator.Option::cost).toList());
    assertEquals(List.of(192L, 256L), items.get(1).options().stream().map(BitAllocator.Option::bits).toList());
  }
}
