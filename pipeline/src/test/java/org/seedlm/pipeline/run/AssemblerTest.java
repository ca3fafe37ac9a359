package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.safetensors.Checkpoint;

class AssemblerTest {

  @TempDir java.nio.file.Path tmp;

  @AfterEach
  void forget() {
    UnitRunner.closeCachedFiles();
  }

  private RunFixture completedRun(String codec) throws IOException {
    RunFixture f = RunFixture.create(tmp, codec, -1).plan(8, "fail");
    f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    return f;
  }

  private static Map<String, byte[]> packedFiles(RunFixture f) throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (var s = Files.list(f.runDir.resolve(RunDirectory.PACKED))) {
      for (java.nio.file.Path p : s.toList()) {
        String n = p.getFileName().toString();
        if (!n.startsWith(".")) { // .crc files of the local file system
          out.put(n, Files.readAllBytes(p));
        }
      }
    }
    return out;
  }

  @Test
  void planShardsSplitsBySizeAndNamesFiles() throws Exception {
    RunFixture f = RunFixture.create(tmp, "seedlm-c8-p3-k8", -1).plan(8, "fail");
    // Stored sizes (24-bit blocks): embed 40 B, down 12 blocks = 36 B, q 5 blocks = 15 B, up 5 blocks = 15 B,
    // norm 52 B; stored names sort as embed, down.packed, q.packed, up.packed, norm.
    List<Assembler.OutputShard> one = Assembler.planShards(f.plan, f.codec, 1L << 30);
    assertEquals(1, one.size());
    assertEquals("model.safetensors", one.get(0).file());
    assertEquals(List.of(RunFixture.EMBED, RunFixture.DOWN + ".packed", RunFixture.Q + ".packed",
        RunFixture.UP + ".packed", RunFixture.NORM), one.get(0).tensors());
    assertEquals(40 + 36 + 15 + 15 + 52, one.get(0).dataBytes());

    List<Assembler.OutputShard> two = Assembler.planShards(f.plan, f.codec, 100);
    assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"),
        two.stream().map(Assembler.OutputShard::file).toList());
    assertEquals(List.of(RunFixture.EMBED, RunFixture.DOWN + ".packed", RunFixture.Q + ".packed"),
        two.get(0).tensors());
    assertEquals(91, two.get(0).dataBytes());
    assertEquals(67, two.get(1).dataBytes());
    for (Assembler.OutputShard s : two) {
      assertEquals(2, s.count());
    }

    // A tensor larger than the limit gets a shard of its own.
    List<Assembler.OutputShard> tiny = Assembler.planShards(f.plan, f.codec, 1);
    assertEquals(5, tiny.size());
    assertEquals("model-00003-of-00005.safetensors", tiny.get(2).file());
    assertEquals(2, tiny.get(2).index());
  }

  @Test
  void assembledModelDecodesToTheCodecsDecode() throws Exception {
    RunFixture f = completedRun("seedlm-c8-p3-k8");
    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, f.conf);
    Map<String, byte[]> files = packedFiles(f);
    assertEquals(List.of("config.json", "manifest.json", "model.safetensors", "tokenizer.json"),
        new ArrayList<>(files.keySet()));
    checkPackedModel(f);
    assertTrue(RunStatus.of(f.run).assembled());

    JsonNode man = RunDirectory.json().readTree(files.get("manifest.json"));
    assertEquals("seedlm-packed", man.get("format").asText());
    assertEquals(2, man.get("format_version").asInt()); // exponent offsets (G = 8: the fixture's units are 8 blocks)
    assertEquals("seedlm-c8-p3-k8", man.get("codec").asText());
    assertEquals(3, man.get("quantized_tensors").asInt());
    assertEquals(2, man.get("kept_tensors").asInt());
    assertEquals(f.spec.modelFingerprint(), man.get("model_fingerprint").asText());
    assertEquals(files.get("model.safetensors").length, man.get("files").get("model.safetensors").get("bytes").asLong());
    assertEquals(sha256(files.get("model.safetensors")),
        man.get("files").get("model.safetensors").get("sha256").asText());
    assertEquals(sha256(files.get("config.json")), man.get("files").get("config.json").get("sha256").asText());
    assertEquals(5, man.get("tensor_sha256").size());
    try (PackedModel pm = PackedModel.open(new Path(f.runDir.resolve("packed").toString()), f.conf)) {
      assertEquals(sha256(pm.packedBytes(RunFixture.DOWN)),
          man.get("tensor_sha256").get(RunFixture.DOWN + ".packed").asText());
    }
  }

  @Test
  void shardedAssemblyWritesAnIndex() throws Exception {
    RunFixture f = completedRun("rtn-sym-b4-g16");
    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 64, f.conf);
    Map<String, byte[]> files = packedFiles(f);
    assertTrue(files.containsKey("model.safetensors.index.json"), files.keySet().toString());
    assertFalse(files.containsKey("model.safetensors"));
    JsonNode index = RunDirectory.json().readTree(files.get("model.safetensors.index.json"));
    assertEquals("seedlm-packed", index.get("metadata").get(PackedFormat.KEY_FORMAT).asText());
    long total = 0;
    int shards = 0;
    for (String n : files.keySet()) {
      if (n.matches("model-\\d{5}-of-\\d{5}\\.safetensors")) {
        total += files.get(n).length;
        shards++;
      }
    }
    assertTrue(shards > 1);
    assertEquals(total, index.get("metadata").get("total_size").asLong());
    assertEquals(5, index.get("weight_map").size());
    assertTrue(index.get("weight_map").has(RunFixture.DOWN + ".packed"));
    checkPackedModel(f);
  }

  private static void checkPackedModel(RunFixture f) throws Exception {
    try (PackedModel pm = PackedModel.open(new Path(f.runDir.resolve("packed").toString()), f.conf);
        Checkpoint orig = Checkpoint.open(new Path(f.modelDir.toString()), f.conf)) {
      assertEquals(f.weights.keySet(), pm.quantized().keySet());
      for (String name : f.weights.keySet()) {
        float[] got = pm.decode(name);
        assertArrayEquals(f.expectedDecode(name), got, name);
        PackedFormat.TensorMeta m = pm.quantized().get(name);
        assertArrayEquals(f.shapes.get(name), m.shape());
        assertEquals(orig.info(name).dtype().name(), m.dtype());
        assertEquals(0, m.flags());
        assertEquals(f.codec.name(), m.codec());
        assertEquals(f.plan.tensor(name).numBlocks(), m.blocks());
      }
      for (String kept : List.of(RunFixture.EMBED, RunFixture.NORM)) {
        assertEquals(orig.info(kept).dtype(), pm.checkpoint().info(kept).dtype());
        assertArrayEquals(orig.info(kept).shape(), pm.checkpoint().info(kept).shape());
        int len = (int) orig.info(kept).byteLength();
        assertArrayEquals(orig.readBytes(kept, 0, len), pm.checkpoint().readBytes(kept, 0, len), kept);
      }
    }
    assertEquals(Files.readString(f.modelDir.resolve("config.json")),
        Files.readString(f.runDir.resolve("packed/config.json")));
  }

  @Test
  void assemblingTwiceGivesIdenticalFiles() throws Exception {
    RunFixture f = completedRun("seedlm-c8-p3-k8");
    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 100, f.conf);
    Map<String, byte[]> first = packedFiles(f);
    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 100, f.conf);
    Map<String, byte[]> second = packedFiles(f);
    assertEquals(first.keySet(), second.keySet());
    for (String n : first.keySet()) {
      assertArrayEquals(first.get(n), second.get(n), n);
    }
    // A different sharding leaves no stale shard behind.
    Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, f.conf);
    assertFalse(packedFiles(f).keySet().stream().anyMatch(n -> n.startsWith("model-")));
  }

  /**
   * The packed files of a fixed input, pinned: the SHA-256 values were computed by the assembler before
   * parallel assembly and lean block tables (commit 7fffda4, one task per output shard, whole rows read), so
   * any change of the output bytes fails here. The run is format version 1 (no codec parameters: rule nearest,
   * no exponent offsets), what that assembler wrote.
   */
  @Test
  void outputIsByteIdenticalToTheAssemblerBeforeParallelAssembly() throws Exception {
    RunFixture f = RunFixture.create(tmp, "seedlm-4bit", -1).plan(8, "fail", Map.of());
    f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    // 4 units (down: 2, q: 1, up: 1): gathered by 1 task, by 3 (the middle one spans down and q), by 4 and more.
    for (int tasks : new int[] {1, 3, 4, 100}) {
      Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 100, tasks, f.conf);
      assertEquals(Math.min(tasks, 4), Assembler.planParts(f.plan, f.codec, tasks).size());
      Map<String, String> sha = new TreeMap<>();
      for (Map.Entry<String, byte[]> e : packedFiles(f).entrySet()) {
        if (e.getKey().endsWith(".safetensors") || e.getKey().endsWith(".index.json")) {
          sha.put(e.getKey(), sha256(e.getValue()));
        }
      }
      assertFalse(packedFiles(f).containsKey(Assembler.PARTS), "parts are removed when assembly finishes");
      assertEquals(Map.of(
        "model-00001-of-00002.safetensors", "e80f7ee6a6908088455baf9adc1606a7643274e558b9fea6af1e4e61500d122a",
        "model-00002-of-00002.safetensors", "a15aa80ca6225afee7266c58a3571e97ba015764ca61f662661972d995c872c0",
        "model.safetensors.index.json", "364365ef9a34cf7ef0a6f3dc0a97cfcfef7011ab6da220c63bf5040c0154fe2a"), sha,
          tasks + " tasks");
    }
  }

  @Test
  void partsCoverEveryUnitOnceInOrderWithBalancedBytes() throws Exception {
    RunFixture f = RunFixture.create(tmp, "seedlm-c8-p3-k8", -1).plan(8, "fail");
    for (int tasks = 1; tasks <= 6; tasks++) {
      List<Assembler.CodePart> parts = Assembler.planParts(f.plan, f.codec, tasks);
      assertTrue(parts.size() <= tasks);
      int next = 0;
      long bytes = 0;
      for (int i = 0; i < parts.size(); i++) {
        Assembler.CodePart p = parts.get(i);
        assertEquals(i, p.index());
        assertEquals(next, p.firstUnit());
        assertTrue(p.numUnits() > 0);
        long b = 0;
        for (int u = p.firstUnit(); u < p.firstUnit() + p.numUnits(); u++) {
          b += f.codec.packedBytes(f.plan.unit(u).numBlocks());
        }
        assertEquals(b, p.bytes());
        next += p.numUnits();
        bytes += b;
      }
      assertEquals(f.plan.numUnits(), next);
      assertEquals(f.plan.tensors().stream().mapToLong(t -> f.codec.packedBytes(t.numBlocks())).sum(), bytes);
    }
  }

  @Test
  void incompleteRunIsRefused() throws Exception {
    RunFixture f = RunFixture.create(tmp, "seedlm-c8-p3-k8", -1).plan(8, "fail");
    UnitRunner.run(f.context(), f.conf, f.plan.unit(0));
    IncompleteRunException e = assertThrows(IncompleteRunException.class,
        () -> Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, f.conf));
    assertTrue(e.getMessage().contains("3 of 4 units are not committed"), e.getMessage());
    assertTrue(e.getMessage().contains("unit 1: " + RunFixture.DOWN + " blocks 8..11"), e.getMessage());
    assertTrue(e.getMessage().contains("seedlm quantize"), e.getMessage());
  }

  @Test
  void damagedCodesFailAssemblyNamingTensorAndUnit() throws Exception {
    RunFixture f = completedRun("seedlm-c8-p3-k8");
    CommitMarker m = f.run.readCommit(1);
    Path file = f.run.path(m.file());
    List<BlockRow> rows = new ArrayList<>(BlockTable.read(file, f.conf));
    BlockRow r = rows.get(2);
    byte[] code = r.code().clone();
    code[1] ^= 0x10;
    rows.set(2, new BlockRow(r.tensor(), r.layer(), r.kind(), r.unit(), r.block(), r.codec(), code, r.n(),
        r.bits(), r.sqErr(), r.sqNorm(), r.maxAbsErr()));
    f.run.fs().delete(file, false);
    BlockTable.write(file, f.conf, rows);
    IOException e = assertThrows(IOException.class,
        () -> Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, f.conf));
    assertTrue(e.getMessage().contains(RunFixture.DOWN), e.getMessage());
    assertTrue(e.getMessage().contains("unit 1"), e.getMessage());
    assertTrue(e.getMessage().contains("damaged"), e.getMessage());
  }

  @Test
  void tamperedCommitChecksumFailsAssembly() throws Exception {
    RunFixture f = completedRun("seedlm-c8-p3-k8");
    CommitMarker m = f.run.readCommit(2);
    f.run.writeJson(f.run.commitPath(2), new CommitMarker(m.unit(), m.tensor(), m.firstBlock(), m.rows(), m.file(),
        m.fileBytes(), "0".repeat(64), m.weights(), m.sqErr(), m.sqNorm(), m.maxAbsErr(), m.seconds(),
        m.finishedAtMillis(), m.attempt(), m.inputSha256()));
    IOException e = assertThrows(IOException.class,
        () -> Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, f.conf));
    assertTrue(e.getMessage().contains(RunFixture.Q), e.getMessage());
    assertTrue(e.getMessage().contains("unit 2"), e.getMessage());
  }

  @Test
  void wrongRowCountFailsAssembly() throws Exception {
    RunFixture f = completedRun("seedlm-c8-p3-k8");
    CommitMarker m = f.run.readCommit(0);
    Path file = f.run.path(m.file());
    List<BlockRow> rows = new ArrayList<>(BlockTable.read(file, f.conf));
    rows.remove(rows.size() - 1);
    f.run.fs().delete(file, false);
    BlockTable.write(file, f.conf, rows);
    IOException e = assertThrows(IOException.class,
        () -> Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, f.conf));
    assertTrue(e.getMessage().contains(RunFixture.DOWN) && e.getMessage().contains("unit 0 has 7 rows"),
        e.getMessage());
  }

  @Test
  void rawByteFlipInTheCodeColumnFailsAssemblyNamingTensorAndUnit() throws Exception {
    RunFixture f = completedRun("seedlm-c8-p3-k8");
    CommitMarker m = f.run.readCommit(1);
    java.nio.file.Path p = f.runDir.resolve(m.file());
    byte[] b = Files.readAllBytes(p);
    // Damage every copy of the code of the unit's second block (data page, and statistics if any).
    byte[] code = BlockTable.read(f.run.path(m.file()), f.conf).get(1).code();
    int found = 0;
    for (int at = indexOf(b, code, 0); at >= 0; at = indexOf(b, code, at + 1)) {
      b[at + 1] ^= 0x01;
      found++;
    }
    assertTrue(found > 0, "code bytes not found in the Parquet file");
    Files.write(p, b);
    // Simulate a file system without client checksums (HDFS/S3 deliver the damaged bytes as they are).
    Files.deleteIfExists(p.resolveSibling("." + p.getFileName() + ".crc"));
    Exception e = assertThrows(Exception.class,
        () -> Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, f.conf));
    String msg = String.valueOf(e.getMessage());
    assertTrue(msg.contains(RunFixture.DOWN) && msg.contains("unit 1"), e.toString());
  }

  private static int indexOf(byte[] hay, byte[] needle, int from) {
    outer:
    for (int i = from; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static String sha256(byte[] b) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
  }
}
