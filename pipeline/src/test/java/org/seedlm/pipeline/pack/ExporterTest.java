package org.seedlm.pipeline.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.numeric.HalfFloats;
import org.seedlm.pipeline.run.Assembler;
import org.seedlm.pipeline.run.RunFixture;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsFile;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * Export of a packed model to a Hugging Face checkpoint, on a two-shard source with an integer tensor: every
 * exported tensor is the canonical decoder's output after the cast (or the source's bytes), read back both
 * with the project's reader and by parsing the files by hand; exporting twice gives identical files.
 */
class ExporterTest {
  static final String IDS = "model.position_ids"; // an I32 tensor: kept, copied byte for byte
  static final String SHARD1 = "model-00001-of-00002.safetensors";
  static final String SHARD2 = "model-00002-of-00002.safetensors";
  /** Source layout: shard -> tensors in data order (not name order, to check that order is kept). */
  static final Map<String, List<String>> LAYOUT = Map.of(
      SHARD1, List.of(RunFixture.UP, RunFixture.EMBED, RunFixture.DOWN),
      SHARD2, List.of(IDS, RunFixture.NORM, RunFixture.Q));

  /** The kept tensors' source dtypes (the fixture's, and the I32 added here). */
  static final Map<String, DType> KEPT_DTYPES = Map.of(RunFixture.EMBED, DType.BF16, RunFixture.NORM, DType.F32,
      IDS, DType.I32);

  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();
  private final ObjectMapper json = new ObjectMapper();

  @AfterEach
  void forget() {
    UnitRunner.closeCachedFiles();
  }

  /** The fixture's model rewritten as two shards with an index, plus an I32 tensor; planned, run, assembled. */
  private RunFixture shardedRun() throws Exception {
    RunFixture f = RunFixture.create(tmp.resolve("src"), "seedlm-4bit", -1);
    java.nio.file.Path single = f.modelDir.resolve("model.safetensors");
    byte[] ids = new byte[6 * 4];
    ByteBuffer.wrap(ids).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().put(new int[] {0, 1, 2, -3, 70000, 5});
    Map<String, String> weightMap = new TreeMap<>();
    try (SafetensorsFile src = SafetensorsFile.open(new Path(single.toString()), conf)) {
      for (Map.Entry<String, List<String>> shard : new TreeMap<>(LAYOUT).entrySet()) {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (String t : shard.getValue()) {
          if (t.equals(IDS)) {
            w.add(IDS, DType.I32, new long[] {2, 3}, ids);
          } else {
            w.add(t, src.info(t).dtype(), src.info(t).shape(), src.readBytes(t, 0, (int) src.info(t).byteLength()));
          }
          weightMap.put(t, shard.getKey());
        }
        w.write(new Path(f.modelDir.resolve(shard.getKey()).toString()), conf);
      }
    }
    Files.delete(single);
    Files.writeString(f.modelDir.resolve(Checkpoint.INDEX_NAME),
        json.writeValueAsString(Map.of("metadata", Map.of("total_size", 1), "weight_map", weightMap)));
    f.plan(8, "fail");
    f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, conf);
    return f;
  }

  private Path packedDir(RunFixture f) {
    return new Path(f.runDir.resolve("packed").toString());
  }

  /** The bytes an exported tensor must hold: the decoder's floats cast to {@code dtype}, or the source bytes. */
  private Map<String, byte[]> expectedBytes(RunFixture f, DType dtype) throws Exception {
    Map<String, byte[]> out = new LinkedHashMap<>();
    try (PackedModel pm = PackedModel.open(packedDir(f), conf);
        Checkpoint src = Checkpoint.open(new Path(f.modelDir.toString()), conf)) {
      for (String t : src.tensors().keySet()) {
        if (!pm.quantized().containsKey(t)) {
          out.put(t, src.readBytes(t, 0, (int) src.info(t).byteLength()));
          continue;
        }
        float[] v = pm.decode(t);
        ByteBuffer b = ByteBuffer.allocate(v.length * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
          if (dtype == DType.F32) {
            b.putInt(Float.floatToRawIntBits(x));
          } else {
            b.putShort(dtype == DType.BF16 ? HalfFloats.floatToBf16(x) : HalfFloats.floatToF16(x));
          }
        }
        out.put(t, b.array());
      }
    }
    return out;
  }

  @Test
  void exportedTensorsAreTheDecodersOutputAfterTheCast() throws Exception {
    RunFixture f = shardedRun();
    for (String name : List.of("bf16", "f16", "f32")) {
      DType dtype = Exporter.parseDType(name);
      java.nio.file.Path out = tmp.resolve("out-" + name);
      Exporter.exportLocally(packedDir(f), new Path(f.modelDir.toString()), new Path(out.toString()), dtype, conf);
      Map<String, byte[]> expected = expectedBytes(f, dtype);
      assertEquals(6, expected.size());

      // 1. the project's reader
      try (Checkpoint c = Checkpoint.open(new Path(out.toString()), conf)) {
        assertEquals(expected.keySet(), c.tensors().keySet());
        for (Map.Entry<String, byte[]> e : expected.entrySet()) {
          String t = e.getKey();
          boolean quantized = f.weights.containsKey(t);
          assertEquals(quantized ? dtype : KEPT_DTYPES.get(t), c.info(t).dtype(), t);
          assertArrayEquals(e.getValue(), c.readBytes(t, 0, (int) c.info(t).byteLength()), name + " " + t);
        }
        assertArrayEquals(new long[] {7, 13}, c.info(RunFixture.DOWN).shape());
      }

      // 2. by hand: header JSON with Jackson, data at its offsets, tensors in the source's order
      long dataBytes = 0;
      for (Map.Entry<String, List<String>> shard : LAYOUT.entrySet()) {
        byte[] file = Files.readAllBytes(out.resolve(shard.getKey()));
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = json.readTree(new String(file, 8, (int) n, StandardCharsets.UTF_8));
        List<String> names = new ArrayList<>();
        header.fieldNames().forEachRemaining(names::add);
        assertEquals("__metadata__", names.remove(0));
        assertEquals(shard.getValue(), names, shard.getKey());
        long prevEnd = 0;
        for (String t : names) {
          JsonNode e = header.get(t);
          long begin = e.get("data_offsets").get(0).asLong();
          long end = e.get("data_offsets").get(1).asLong();
          assertEquals(prevEnd, begin, t);
          prevEnd = end;
          byte[] data = java.util.Arrays.copyOfRange(file, (int) (8 + n + begin), (int) (8 + n + end));
          assertArrayEquals(expected.get(t), data, name + " " + t + " by hand");
          dataBytes += end - begin;
        }
        assertEquals(file.length, 8 + n + prevEnd, shard.getKey() + " has no bytes after its tensors");
      }
      JsonNode index = json.readTree(out.resolve(Checkpoint.INDEX_NAME).toFile());
      assertEquals(dataBytes, index.get("metadata").get("total_size").asLong());
      Map<String, String> weightMap = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = index.get("weight_map").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        weightMap.put(e.getKey(), e.getValue().asText());
      }
      Map<String, String> expectedMap = new TreeMap<>();
      LAYOUT.forEach((s, ts) -> ts.forEach(t -> expectedMap.put(t, s)));
      assertEquals(expectedMap, weightMap);

      // side files: config.json gains torch_dtype, the others are copied; nothing of seedlm's travels
      JsonNode config = json.readTree(out.resolve("config.json").toFile());
      assertEquals(Exporter.torchDtype(dtype), config.get("torch_dtype").asText());
      assertEquals("llama", config.get("model_type").asText());
      assertArrayEquals(Files.readAllBytes(f.modelDir.resolve("tokenizer.json")),
          Files.readAllBytes(out.resolve("tokenizer.json")));
      try (Stream<java.nio.file.Path> files = Files.list(out)) {
        assertEquals(List.of("config.json", SHARD1, SHARD2, Checkpoint.INDEX_NAME, "tokenizer.json"),
            files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList(),
            "the files, besides Hadoop's local .crc files");
      }
    }
    // the casts are real: bf16 and f16 exports differ, and f32 holds the decoder's floats exactly
    assertFalse(java.util.Arrays.equals(Files.readAllBytes(tmp.resolve("out-bf16").resolve(SHARD1)),
        Files.readAllBytes(tmp.resolve("out-f16").resolve(SHARD1))));
  }

  @Test
  void exportingTwiceGivesIdenticalFiles() throws Exception {
    RunFixture f = shardedRun();
    java.nio.file.Path a = tmp.resolve("a");
    java.nio.file.Path b = tmp.resolve("b");
    Exporter.exportLocally(packedDir(f), new Path(f.modelDir.toString()), new Path(a.toString()), DType.BF16, conf);
    Exporter.exportLocally(packedDir(f), new Path(f.modelDir.toString()), new Path(b.toString()), DType.BF16, conf);
    try (Stream<java.nio.file.Path> files = Files.list(a)) {
      List<java.nio.file.Path> list = files.sorted().toList(); // Hadoop's .crc files included
      assertEquals(10, list.size());
      for (java.nio.file.Path p : list) {
        assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(b.resolve(p.getFileName())), p.toString());
      }
    }
  }

  @Test
  void badInput() throws Exception {
    BadInputException dtype = assertThrows(BadInputException.class, () -> Exporter.parseDType("fp8"));
    assertEquals("Cannot export: --dtype fp8 is not one of bf16, f16, f32", dtype.getMessage());
    java.nio.file.Path out = tmp.resolve("full");
    Files.createDirectories(out);
    Files.writeString(out.resolve("x"), "x");
    Path o = new Path(out.toString());
    BadInputException full = assertThrows(BadInputException.class, () -> Exporter.prepareOutput(o, conf));
    assertEquals("Cannot export to " + o + ": it exists and is not an empty directory (choose a new --out, or "
        + "delete it)", full.getMessage());
  }
}
