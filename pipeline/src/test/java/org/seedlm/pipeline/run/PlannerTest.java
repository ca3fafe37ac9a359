package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

class PlannerTest {

  private static final int LAYERS = 80;
  private static final int SHARDS = 15;
  private static final long H = 8192;
  private static final long I = 28672;
  private static final long KV = 1024;
  private static final long VOCAB = 32000;

  /** Projection names and shapes of one Llama-2-70B layer. */
  private static Map<String, long[]> layerProjections(int l) {
    String p = "model.layers." + l + ".";
    Map<String, long[]> m = new LinkedHashMap<>();
    m.put(p + "self_attn.q_proj.weight", new long[] {H, H});
    m.put(p + "self_attn.k_proj.weight", new long[] {KV, H});
    m.put(p + "self_attn.v_proj.weight", new long[] {KV, H});
    m.put(p + "self_attn.o_proj.weight", new long[] {H, H});
    m.put(p + "mlp.gate_proj.weight", new long[] {I, H});
    m.put(p + "mlp.up_proj.weight", new long[] {I, H});
    m.put(p + "mlp.down_proj.weight", new long[] {H, I});
    return m;
  }

  private static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** Writes a sparse, header-only Llama-2-70B checkpoint; returns the total logical bytes. */
  static long writeSparse70b(java.nio.file.Path dir) throws Exception {
    List<Map<String, long[]>> shards = new ArrayList<>();
    for (int s = 0; s < SHARDS; s++) {
      shards.add(new LinkedHashMap<>());
    }
    shards.get(0).put("model.embed_tokens.weight", new long[] {VOCAB, H});
    for (int l = 0; l < LAYERS; l++) {
      Map<String, long[]> sh = shards.get(l * SHARDS / LAYERS);
      sh.putAll(layerProjections(l));
      sh.put("model.layers." + l + ".input_layernorm.weight", new long[] {H});
      sh.put("model.layers." + l + ".post_attention_layernorm.weight", new long[] {H});
    }
    shards.get(SHARDS - 1).put("model.norm.weight", new long[] {H});
    shards.get(SHARDS - 1).put("lm_head.weight", new long[] {VOCAB, H});
    return writeSparseShards(dir, shards, name -> DType.BF16);
  }

  /**
   * Writes a sparse, header-only sharded checkpoint (the data sections are holes: real names and shapes, no
   * values), {@code model-0000S-of-0000N.safetensors} plus the index; returns the total logical bytes.
   */
  static long writeSparseShards(java.nio.file.Path dir, List<Map<String, long[]>> shards,
      java.util.function.Function<String, DType> dtypeOf) throws Exception {
    Map<String, String> weightMap = new TreeMap<>();
    long totalData = 0;
    long totalFile = 0;
    for (int s = 0; s < shards.size(); s++) {
      String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
      SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
      long data = 0;
      for (Map.Entry<String, long[]> e : shards.get(s).entrySet()) {
        DType dtype = dtypeOf.apply(e.getKey());
        w.add(e.getKey(), dtype, e.getValue(), out -> {
          throw new AssertionError("data source must not be called");
        });
        data += numel(e.getValue()) * dtype.size();
        weightMap.put(e.getKey(), file);
      }
      byte[] header = w.headerBytes();
      long len = 8 + header.length + data;
      try (RandomAccessFile f = new RandomAccessFile(dir.resolve(file).toFile(), "rw")) {
        f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
        f.write(header);
        f.setLength(len);
      }
      totalData += data;
      totalFile += len;
    }
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("metadata", Map.of("total_size", totalData));
    index.put("weight_map", weightMap);
    new ObjectMapper().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
    return totalFile;
  }

  @Test
  void plansLlama2_70bFromSparseShards(@TempDir java.nio.file.Path dir) throws Exception {
    long logical = writeSparse70b(dir);
    long sizes = 0;
    for (int s = 1; s <= SHARDS; s++) {
      sizes += Files.size(dir.resolve(String.format("model-%05d-of-%05d.safetensors", s, SHARDS)));
    }
    assertEquals(logical, sizes);
    assertTrue(sizes > 130_000_000_000L && sizes < 150_000_000_000L, "logical size " + sizes);

    long t0 = System.nanoTime();
    Plan plan;
    long t1;
    try (Checkpoint c = Checkpoint.open(new Path(dir.toString()), new Configuration())) {
      t1 = System.nanoTime();
      List<Planner.SourceTensor> src = new ArrayList<>();
      for (Checkpoint.Tensor t : c.tensors().values()) {
        src.add(new Planner.SourceTensor(t.shard(), t.info()));
      }
      plan = Planner.plan(src, TensorSelection.defaults(), 8, 65536);
    }
    long t2 = System.nanoTime();
    System.out.printf("PlannerTest: Llama-2-70B (%d shards, %.1f GB logical): Checkpoint.open %.1f ms,"
        + " Planner.plan %.1f ms%n", SHARDS, sizes / 1e9, (t1 - t0) / 1e6, (t2 - t1) / 1e6);

    assertEquals(560, plan.tensors().size());
    Set<String> kept = new TreeSet<>();
    plan.kept().forEach(k -> kept.add(k.name()));
    assertEquals(163, kept.size());
    assertTrue(kept.contains("model.embed_tokens.weight"));
    assertTrue(kept.contains("model.norm.weight"));
    assertTrue(kept.contains("lm_head.weight"));
    for (int l = 0; l < LAYERS; l++) {
      assertTrue(kept.contains("model.layers." + l + ".input_layernorm.weight"));
      assertTrue(kept.contains("model.layers." + l + ".post_attention_layernorm.weight"));
    }

    // Independent totals.
    long weights = 0;
    long blocks = 0;
    long units = 0;
    for (int l = 0; l < LAYERS; l++) {
      for (long[] shape : layerProjections(l).values()) {
        long n = numel(shape);
        long b = (n + 7) / 8;
        weights += n;
        blocks += b;
        units += (b + 65535) / 65536;
      }
    }
    assertEquals(68_451_041_280L, weights);
    assertEquals(weights, 80L * (2 * H * H + 2 * KV * H + 3 * I * H));
    assertEquals(8_556_380_160L, blocks);
    assertEquals(130_560L, units); // per layer: 128 + 16 + 16 + 128 + 3 * 448
    assertEquals(weights, plan.numWeights());
    assertEquals(blocks, plan.numBlocks());
    assertEquals(units, plan.numUnits());

    // Units are dense, never span tensors, and round-trip with tensorOfUnit.
    int expectFirst = 0;
    int prevLayer = -1;
    for (PlannedTensor t : plan.tensors()) {
      assertEquals(expectFirst, t.firstUnit(), t.name());
      assertTrue(t.layer() >= prevLayer, "layer order at " + t.name());
      prevLayer = t.layer();
      assertEquals((t.numel() + 7) / 8, t.numBlocks());
      long covered = 0;
      for (int i = t.firstUnit(); i < t.firstUnit() + t.numUnits(); i++) {
        WorkUnit u = plan.unit(i);
        assertEquals(i, u.id());
        assertEquals(t.name(), u.tensor());
        assertEquals(t.shard(), u.shard());
        assertEquals(covered, u.firstBlock());
        assertTrue(u.numBlocks() > 0 && u.numBlocks() <= 65536);
        assertEquals(t, plan.tensorOfUnit(i));
        covered += u.numBlocks();
      }
      assertEquals(t.numBlocks(), covered, t.name());
      expectFirst += t.numUnits();
    }
    assertThrows(IllegalArgumentException.class, () -> plan.unit(plan.numUnits()));
    assertThrows(IllegalArgumentException.class, () -> plan.tensorOfUnit(-1));

    // Numeric layer order: layer 2 before layer 10 (a string sort would put 10 first).
    int idx2 = indexOf(plan, "model.layers.2.self_attn.q_proj.weight");
    int idx10 = indexOf(plan, "model.layers.10.self_attn.q_proj.weight");
    assertTrue(idx2 < idx10, idx2 + " vs " + idx10);
    assertEquals(0, plan.tensors().get(0).layer());
    assertEquals(79, plan.tensors().get(559).layer());
    PlannedTensor down = plan.tensor("model.layers.0.mlp.down_proj.weight");
    assertEquals("down", down.kind());
    assertEquals("model-00001-of-00015.safetensors", down.shard());
    assertEquals("BF16", down.dtype());
    assertEquals(448, down.numUnits());
    PlannedTensor k = plan.tensor("model.layers.79.self_attn.k_proj.weight");
    assertEquals(16, k.numUnits());
    assertEquals("model-00015-of-00015.safetensors", k.shard());
  }

  private static int indexOf(Plan plan, String name) {
    for (int i = 0; i < plan.tensors().size(); i++) {
      if (plan.tensors().get(i).name().equals(name)) {
        return i;
      }
    }
    throw new AssertionError("not planned: " + name);
  }

  @Test
  void lastUnitOfATensorIsShorterAndUnitBlocksMustBeAMultipleOf8() {
    List<Planner.SourceTensor> src = List.of(
        new Planner.SourceTensor("a.safetensors",
            new org.seedlm.pipeline.safetensors.TensorInfo("model.layers.0.mlp.up_proj.weight", DType.F32,
                new long[] {7, 13}, 0, 7 * 13 * 4)));
    Plan plan = Planner.plan(src, TensorSelection.defaults(), 8, 8);
    assertEquals(12, plan.numBlocks());
    assertEquals(2, plan.numUnits());
    assertEquals(8, plan.unit(0).numBlocks());
    assertEquals(4, plan.unit(1).numBlocks());
    assertEquals(8, plan.unit(1).firstBlock());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Planner.plan(src, TensorSelection.defaults(), 8, 12));
    assertTrue(e.getMessage().contains("--unit-blocks"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Planner.plan(src, TensorSelection.defaults(), 8, 0));
    assertThrows(IllegalArgumentException.class, () -> Planner.plan(src, TensorSelection.defaults(), 0, 8));
  }

  @Test
  void unitsKeepWholeOffsetGroups() {
    List<Planner.SourceTensor> src = List.of(
        new Planner.SourceTensor("a.safetensors",
            new org.seedlm.pipeline.safetensors.TensorInfo("model.layers.0.mlp.up_proj.weight", DType.F32,
                new long[] {7, 13}, 0, 7 * 13 * 4)));
    // G divides unit-blocks: every unit starts a group
    Plan plan = Planner.plan(src, TensorSelection.defaults(), 8, 8, 4);
    assertEquals(0, plan.unit(1).firstBlock() % 4);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Planner.plan(src, TensorSelection.defaults(), 8, 8, 16));
    assertEquals("Cannot plan with unit-blocks 8 and group-blocks 16: units must hold whole offset groups, so "
        + "unit-blocks must be a multiple of group-blocks (set --group-blocks to a divisor of --unit-blocks, e.g. 8)",
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Planner.plan(src, TensorSelection.defaults(), 8, 24, 16));
    // the default G: 4096, or the largest power of two dividing unit-blocks
    assertEquals(4096, Planner.defaultGroupBlocks(32768));
    assertEquals(4096, Planner.defaultGroupBlocks(4096 * 3));
    assertEquals(8, Planner.defaultGroupBlocks(8));
    assertEquals(32, Planner.defaultGroupBlocks(12000)); // 12000 = 32 * 375
  }
}
