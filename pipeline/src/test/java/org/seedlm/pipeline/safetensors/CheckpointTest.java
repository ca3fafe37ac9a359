package org.seedlm.pipeline.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
  @TempDir java.nio.file.Path dir;
  private final Configuration conf = new Configuration();

  private static final String S1 = "model-00001-of-00002.safetensors";
  private static final String S2 = "model-00002-of-00002.safetensors";

  /** Two shards: S1 holds "b.weight" (F32) and "a.weight" (BF16); S2 holds "c.weight" (F16). */
  private Path shardedModel(String indexJson) throws Exception {
    Fixtures.write(dir.resolve(S1), new SafetensorsWriter()
        .metadata("format", "pt")
        .addF32("b.weight", new long[] {2, 2}, new float[] {1, 2, 3, 4})
        .add("a.weight", DType.BF16, new long[] {3}, Fixtures.le16(0x3F80, 0xC000, 0x4040)));
    Fixtures.write(dir.resolve(S2), new SafetensorsWriter()
        .add("c.weight", DType.F16, new long[] {2}, Fixtures.le16(0x3C00, 0x0001)));
    index(indexJson);
    return new Path(dir.toUri());
  }

  private void index(String json) throws Exception {
    Files.writeString(dir.resolve(Checkpoint.INDEX_NAME), json);
  }

  private static String index(String a, String b, String c) {
    return "{\"metadata\":{\"total_size\":40},\"weight_map\":{\"a.weight\":\"" + a
        + "\",\"b.weight\":\"" + b + "\",\"c.weight\":\"" + c + "\"}}";
  }

  private static final String GOOD_INDEX = index(S1, S1, S2);

  private String error(Path location) {
    CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(location, conf).close());
    return e.getMessage();
  }

  private static void contains(String m, String... parts) {
    for (String p : parts) {
      assertTrue(m.contains(p), () -> "expected \"" + p + "\" in: " + m);
    }
  }

  @Test
  void readsTwoShardsThroughTheIndex() throws Exception {
    Path loc = shardedModel(GOOD_INDEX);
    try (Checkpoint c = Checkpoint.open(loc, conf)) {
      assertEquals(List.of("a.weight", "b.weight", "c.weight"), List.copyOf(c.tensors().keySet()));
      assertEquals(List.of(S1, S2), c.shards());
      assertEquals(S2, c.tensors().get("c.weight").shard());
      assertEquals(DType.BF16, c.info("a.weight").dtype());
      float[] dst = new float[3];
      c.readFloats("a.weight", 0, 3, dst, 0);
      assertArrayEquals(new float[] {1, -2, 3}, dst);
      c.readFloats("b.weight", 1, 2, dst, 1);
      assertArrayEquals(new float[] {1, 2, 3}, dst);
      c.readFloats("c.weight", 0, 2, dst, 0);
      assertArrayEquals(new float[] {1, 0x1p-24f}, new float[] {dst[0], dst[1]});
      assertEquals(Files.size(dir.resolve(S1)) + Files.size(dir.resolve(S2)), c.totalBytes());
      assertTrue(c.bytesRead() > 0 && c.bytesRead() <= c.totalBytes());
      assertEquals(0, c.config().size());
      contains(assertThrows(CheckpointException.class, () -> c.info("zz")).getMessage(), "tensor 'zz' does not exist");
      assertEquals("pt", c.shard(S1).metadata().get("format"));
    }
  }

  @Test
  void singleFileLayouts() throws Exception {
    Fixtures.write(dir.resolve(Checkpoint.SINGLE_NAME),
        new SafetensorsWriter().addF32("w", new long[] {2}, new float[] {5, 6}));
    Files.writeString(dir.resolve(Checkpoint.CONFIG_NAME), "{\"hidden_size\": 768, \"model_type\": \"bert\"}");
    for (Path loc : List.of(new Path(dir.toUri()), new Path(dir.resolve(Checkpoint.SINGLE_NAME).toUri()))) {
      try (Checkpoint c = Checkpoint.open(loc, conf)) {
        assertEquals(List.of(Checkpoint.SINGLE_NAME), c.shards());
        float[] dst = new float[2];
        c.readFloats("w", 0, 2, dst, 0);
        assertArrayEquals(new float[] {5, 6}, dst);
        assertEquals(768, c.config().get("hidden_size").asInt());
        assertEquals("bert", c.config().get("model_type").asText());
      }
    }
    java.nio.file.Path empty = Files.createDirectory(dir.resolve("empty"));
    contains(error(new Path(empty.toUri())), "holds neither");
    contains(error(new Path(dir.resolve("nothing").toUri())), "no such file or directory");
  }

  @Test
  void configProblems() throws Exception {
    Path loc = shardedModel(GOOD_INDEX);
    Files.writeString(dir.resolve(Checkpoint.CONFIG_NAME), "{\"hidden_size\": 768,");
    try (Checkpoint c = Checkpoint.open(loc, conf)) {
      String m = assertThrows(CheckpointException.class, c::config).getMessage();
      contains(m, "Cannot read ", "config.json", "malformed JSON config");
    }
    Files.writeString(dir.resolve(Checkpoint.CONFIG_NAME), "[]");
    try (Checkpoint c = Checkpoint.open(loc, conf)) {
      contains(assertThrows(CheckpointException.class, c::config).getMessage(), "config.json", "not an object");
    }
  }

  @Test
  void missingShard() throws Exception {
    Path loc = shardedModel(index(S1, S1, "model-00003-of-00003.safetensors"));
    contains(error(loc), Checkpoint.INDEX_NAME, "shard 'model-00003-of-00003.safetensors'",
        "tensor 'c.weight'", "does not exist");
  }

  @Test
  void shardNamesThatLeaveTheDirectory() throws Exception {
    for (String bad : List.of("sub/" + S2, "../" + S2, "..", "a\\b.safetensors", "/etc/" + S2,
        "file:/tmp/x.safetensors", "")) {
      Path loc = shardedModel(index(S1, S1, bad.replace("\\", "\\\\")));
      contains(error(loc), Checkpoint.INDEX_NAME, "tensor 'c.weight'", "shard '" + bad + "'",
          "points outside the model directory");
    }
  }

  @Test
  void indexAndShardsMustAgree() throws Exception {
    // listed in the index for S2 but S2 does not have it
    Path loc = shardedModel(index(S2, S1, S2));
    contains(error(loc), Checkpoint.INDEX_NAME, "tensor 'a.weight' is listed in the index for shard '" + S2
        + "' but that shard's header does not have it");
    // in a shard but not in the index
    index("{\"weight_map\":{\"a.weight\":\"" + S1 + "\",\"c.weight\":\"" + S2 + "\"}}");
    contains(error(loc), Checkpoint.INDEX_NAME, "tensor 'b.weight' is in shard '" + S1
        + "'", "does not list it");
    // in a shard that the index does not map it to (S2 also holds a.weight, mapped to S1)
    Fixtures.write(dir.resolve(S2), new SafetensorsWriter()
        .add("c.weight", DType.F16, new long[] {2}, Fixtures.le16(0x3C00, 0x0001))
        .add("a.weight", DType.F16, new long[] {1}, Fixtures.le16(0)));
    index(GOOD_INDEX);
    contains(error(loc), "tensor 'a.weight' is in shard '" + S2 + "' but the index maps it to shard '" + S1 + "'");
  }

  @Test
  void malformedIndex() throws Exception {
    Path loc = shardedModel("{\"weight_map\": {\"a.weight\": ");
    contains(error(loc), "Cannot read ", Checkpoint.INDEX_NAME, "malformed JSON index");
    index("{\"metadata\": {}}");
    contains(error(loc), Checkpoint.INDEX_NAME, "no weight_map");
    index("{\"weight_map\": []}");
    contains(error(loc), Checkpoint.INDEX_NAME, "weight_map that is an array");
    index("{\"weight_map\": {\"a.weight\": 3}}");
    contains(error(loc), Checkpoint.INDEX_NAME, "tensor 'a.weight' to the number 3");
    index("[]");
    contains(error(loc), Checkpoint.INDEX_NAME, "not an object");
  }

  @Test
  void corruptShardIsReportedWithItsName() throws Exception {
    Path loc = shardedModel(GOOD_INDEX);
    byte[] b = Files.readAllBytes(dir.resolve(S2));
    Files.write(dir.resolve(S2), java.util.Arrays.copyOf(b, b.length - 1));
    contains(error(loc), S2, "tensor 'c.weight'", "end beyond the end of the file");
  }

  @Test
  void fingerprintIsStableAndSensitive() throws Exception {
    Path loc = shardedModel(GOOD_INDEX);
    String f1;
    try (Checkpoint c = Checkpoint.open(loc, conf)) {
      f1 = c.fingerprint();
      assertTrue(f1.matches("[0-9a-f]{64}"), f1);
      assertEquals(f1, c.fingerprint());
    }
    try (Checkpoint c = Checkpoint.open(loc, conf)) {
      assertEquals(f1, c.fingerprint());
    }
    // change one header byte (a metadata value), keeping the header valid
    java.nio.file.Path s1 = dir.resolve(S1);
    byte[] orig = Files.readAllBytes(s1);
    String text = new String(orig, StandardCharsets.ISO_8859_1);
    int at = text.indexOf("\"pt\"") + 1;
    byte[] changed = orig.clone();
    changed[at] = 'q';
    Files.write(s1, changed);
    try (Checkpoint c = Checkpoint.open(loc, conf)) {
      assertEquals("qt", c.shard(S1).metadata().get("format"));
      assertNotEquals(f1, c.fingerprint());
    }
    Files.write(s1, orig);
    // change a file length (bytes after the last tensor are allowed)
    Files.write(dir.resolve(S2), new byte[] {0}, StandardOpenOption.APPEND);
    try (Checkpoint c = Checkpoint.open(loc, conf)) {
      assertNotEquals(f1, c.fingerprint());
    }
    // data bytes are not part of the fingerprint
    byte[] s2 = Files.readAllBytes(dir.resolve(S2));
    Files.write(dir.resolve(S2), java.util.Arrays.copyOf(s2, s2.length - 1));
    s2 = Files.readAllBytes(dir.resolve(S2));
    s2[s2.length - 1] ^= 1;
    Files.write(dir.resolve(S2), s2);
    try (Checkpoint c = Checkpoint.open(loc, conf)) {
      assertEquals(f1, c.fingerprint());
    }
  }
}
