package org.seedlm.pipeline.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.pack.PackedFormat.TensorMeta;
import org.seedlm.pipeline.run.Assembler;
import org.seedlm.pipeline.run.RunFixture;
import org.seedlm.pipeline.run.UnitRunner;
import org.seedlm.pipeline.safetensors.CheckpointException;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

class PackedModelTest {

  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();

  @AfterEach
  void forget() {
    UnitRunner.closeCachedFiles();
  }

  private static long expectedBytes(long numel, int blockSize, int bitsPerBlock) {
    long blocks = (numel + blockSize - 1) / blockSize;
    return (blocks * bitsPerBlock + 7) / 8;
  }

  /**
   * Packed sizes follow bits-per-weight exactly (tail padding only), and the packed bytes are the
   * codec's encoding of the zero-padded tensor, for every codec family. Fixture tensors hold 91, 40
   * and 35 weights; 35 weights in 36-bit blocks is 3 blocks = 108 bits = 13.5 bytes.
   */
  @Test
  void packedSizesAndBytesForEveryCodec() throws Exception {
    Map<String, long[]> expected = Map.of(
        // codec -> {bytes of DOWN (91), Q (40), UP (35)}
        "seedlm-4bit", new long[] {48, 20, 20},
        "seedlm-3bit", new long[] {36, 18, 14},
        "rtn-sym-b4-g128", new long[] {66, 66, 66},
        "rtn-asym-b4-g128", new long[] {67, 67, 67},
        "nf4-g64", new long[] {72, 36, 36});
    int i = 0;
    for (String name : List.of("seedlm-4bit", "seedlm-3bit", "rtn-sym-b4-g128", "rtn-asym-b4-g128", "nf4-g64")) {
      RunFixture f = RunFixture.create(tmp.resolve("c" + i++), name, -1).plan(8, "fail");
      f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
      Assembler.assembleLocally(f.run, f.spec, f.plan, f.codec, 1L << 30, conf);
      BlockCodec c = f.codec;
      try (PackedModel pm = PackedModel.open(new Path(f.runDir.resolve("packed").toString()), conf)) {
        int t = 0;
        for (String tensor : List.of(RunFixture.DOWN, RunFixture.Q, RunFixture.UP)) {
          float[] w = f.weights.get(tensor);
          long bytes = expectedBytes(w.length, c.blockSize(), c.bitsPerBlock());
          assertEquals(expected.get(name)[t++], bytes, name + " " + tensor);
          TensorMeta m = pm.quantized().get(tensor);
          assertEquals(bytes, m.packedBytes());
          assertEquals(bytes, pm.checkpoint().info(tensor + PackedFormat.PACKED_SUFFIX).byteLength());
          assertEquals(DType.U8, pm.checkpoint().info(tensor + PackedFormat.PACKED_SUFFIX).dtype());
          assertEquals(c.bitsPerBlock(), m.bitsPerBlock());
          assertEquals(c.blockSize(), m.blockSize());
          assertEquals(new java.util.TreeMap<>(c.params()), m.params());
          int blocks = (int) m.blocks();
          float[] padded = java.util.Arrays.copyOf(w, blocks * c.blockSize());
          byte[] enc = new byte[(int) c.packedBytes(blocks)];
          int[] offsets = c.groupOffsets(padded, 0, blocks);
          assertArrayEquals(offsets, pm.offsets(tensor), name + " " + tensor);
          c.encode(padded, 0, blocks, offsets, enc, 0);
          byte[] got = pm.packedBytes(tensor);
          assertArrayEquals(enc, got, name + " " + tensor);
          long usedBits = (long) blocks * c.bitsPerBlock();
          if (usedBits % 8 != 0) {
            int pad = (int) (8 - usedBits % 8);
            assertEquals(0, got[got.length - 1] & ((1 << pad) - 1), "tail padding is zero");
          }
          assertArrayEquals(f.expectedDecode(tensor), pm.decode(tensor), name + " " + tensor);
        }
      }
      UnitRunner.closeCachedFiles();
    }
  }

  private Path write(String file, SafetensorsWriter w) throws IOException {
    java.nio.file.Path dir = tmp.resolve(file + ".d");
    java.nio.file.Files.createDirectories(dir);
    Path p = new Path(dir.resolve("model.safetensors").toString());
    w.write(p, conf);
    return new Path(dir.toString());
  }

  private static SafetensorsWriter packed(String version, TensorMeta meta, long storedBytes) {
    SafetensorsWriter w = new SafetensorsWriter()
        .metadata(PackedFormat.KEY_FORMAT, PackedFormat.FORMAT_NAME)
        .metadata(PackedFormat.KEY_VERSION, version)
        .metadata(PackedFormat.KEY_TENSOR_PREFIX + "w", meta.toJson());
    return w.add("w" + PackedFormat.PACKED_SUFFIX, DType.U8, new long[] {storedBytes}, new byte[(int) storedBytes]);
  }

  /** Version 1 metadata: no G, no offsets. */
  private static TensorMeta meta(int flags) {
    BlockCodec c = new SeedLmCodec(SeedLmParams.THREE_BIT);
    return new TensorMeta(c.name(), c.params(), 12, 36, 3, new long[] {5, 7}, "F16", flags);
  }

  /** Version 2 metadata of the same tensor with G = 2 (two groups) and the given offsets. */
  private static TensorMeta metaV2(int... offsets) {
    BlockCodec c = new SeedLmCodec(SeedLmParams.THREE_BIT, CoefficientRule.BEST, 2);
    return new TensorMeta(c.name(), c.params(), 12, 36, 3, new long[] {5, 7}, "F16", 0,
        PackedFormat.encodeOffsets(offsets));
  }

  @Test
  void refusesAPlainSafetensorsFile() throws Exception {
    Path dir = write("plain", new SafetensorsWriter().metadata("format", "pt")
        .addF32("model.norm.weight", new long[] {2}, new float[] {1f, 2f}));
    CheckpointException e = assertThrows(CheckpointException.class, () -> PackedModel.open(dir, conf));
    assertTrue(e.getMessage().contains("is not a packed model"), e.getMessage());
    assertTrue(e.getMessage().contains("seedlm.format"), e.getMessage());
    assertTrue(e.getMessage().contains("seedlm-packed"), e.getMessage());
  }

  @Test
  void refusesUnknownVersionsAndFlags() throws Exception {
    Path ok = write("ok", packed("1", meta(0), 14));
    try (PackedModel pm = PackedModel.open(ok, conf)) {
      assertEquals(List.of("w"), List.copyOf(pm.quantized().keySet()));
      assertEquals(35, pm.quantized().get("w").numel());
      assertEquals(14, pm.packedBytes("w").length);
      CheckpointException e = assertThrows(CheckpointException.class, () -> pm.decode("nope"));
      assertTrue(e.getMessage().contains("is not a quantized tensor"), e.getMessage());
    }
    Path v2 = write("v2", packed("2", metaV2(-7, 100), 14));
    try (PackedModel pm = PackedModel.open(v2, conf)) {
      assertArrayEquals(new int[] {-7, 100}, pm.offsets("w"));
      assertEquals(2, pm.quantized().get("w").groupBlocks());
    }
    Path v3 = write("v3", packed("3", meta(0), 14));
    CheckpointException e = assertThrows(CheckpointException.class, () -> PackedModel.open(v3, conf));
    assertTrue(e.getMessage().contains("has packed format version 3; this reader knows versions 1 and 2"),
        e.getMessage());
    Path v1WithOffsets = write("v1o", packed("1", metaV2(0, 0), 14));
    e = assertThrows(CheckpointException.class, () -> PackedModel.open(v1WithOffsets, conf));
    assertTrue(e.getMessage().contains("has exponent offsets (G=2) in a format version 1 file"), e.getMessage());
    Path count = write("count", packed("2", metaV2(1, 2, 3), 14));
    e = assertThrows(CheckpointException.class, () -> PackedModel.open(count, conf));
    assertTrue(e.getMessage().contains("has 3 exponent offsets; 3 blocks in groups of G=2 need 2"), e.getMessage());
    Path range = write("range", packed("2", metaV2(1, -101), 14));
    e = assertThrows(CheckpointException.class, () -> PackedModel.open(range, conf));
    assertTrue(e.getMessage().contains("has exponent offset -101 for group 1; offsets must be in [-100, 100]"),
        e.getMessage());
    Path noVersion = write("nov", new SafetensorsWriter().metadata(PackedFormat.KEY_FORMAT, "seedlm-packed")
        .add("x", DType.U8, new long[] {1}, new byte[1]));
    e = assertThrows(CheckpointException.class, () -> PackedModel.open(noVersion, conf));
    assertTrue(e.getMessage().contains("version null"), e.getMessage());
    Path flags = write("flags", packed("1", meta(1), 14));
    e = assertThrows(CheckpointException.class, () -> PackedModel.open(flags, conf));
    assertTrue(e.getMessage().contains("reserved flags 1"), e.getMessage());
    Path size = write("size", packed("1", meta(0), 13));
    e = assertThrows(CheckpointException.class, () -> PackedModel.open(size, conf));
    assertTrue(e.getMessage().contains("holds 13 bytes, its metadata implies 14"), e.getMessage());
    Path missing = write("missing", new SafetensorsWriter()
        .metadata(PackedFormat.KEY_FORMAT, PackedFormat.FORMAT_NAME)
        .metadata(PackedFormat.KEY_VERSION, "1")
        .metadata(PackedFormat.KEY_TENSOR_PREFIX + "w", meta(0).toJson())
        .add("other", DType.U8, new long[] {1}, new byte[1]));
    e = assertThrows(CheckpointException.class, () -> PackedModel.open(missing, conf));
    assertTrue(e.getMessage().contains("is described in the metadata but not stored"), e.getMessage());
  }

  @Test
  void tensorMetaJson() {
    TensorMeta m = meta(0);
    String json = m.toJson();
    // Fields in record order; params in key order.
    assertEquals("{\"codec\":\"seedlm-3bit\",\"params\":{\"C\":\"12\",\"K\":\"16\",\"P\":\"4\"},"
        + "\"blockSize\":12,\"bitsPerBlock\":36,\"blocks\":3,\"shape\":[5,7],\"dtype\":\"F16\",\"flags\":0}",
        json);
    TensorMeta back = TensorMeta.fromJson(json);
    assertEquals(m.codec(), back.codec());
    assertEquals(m.params(), back.params());
    assertArrayEquals(m.shape(), back.shape());
    assertEquals(14, back.packedBytes());
    assertThrows(IllegalArgumentException.class, () -> TensorMeta.fromJson("{not json"));
    // version 2: G and the rule among the params, the offsets as base64 of signed bytes (-7 = 0xF9, 100 = 0x64:
    // bytes F9 64 are "+WQ=" in RFC 4648 base64)
    TensorMeta v2 = metaV2(-7, 100);
    assertEquals("{\"codec\":\"seedlm-3bit\",\"params\":{\"C\":\"12\",\"G\":\"2\",\"K\":\"16\",\"P\":\"4\","
        + "\"coefficients\":\"best\"},\"blockSize\":12,\"bitsPerBlock\":36,\"blocks\":3,\"shape\":[5,7],"
        + "\"dtype\":\"F16\",\"flags\":0,\"offsets\":\"+WQ=\"}", v2.toJson());
    assertArrayEquals(new int[] {-7, 100}, TensorMeta.fromJson(v2.toJson()).offsetValues());
    assertEquals(0, back.groupBlocks());
    assertArrayEquals(new int[0], back.offsetValues());
  }

  /** The worked example of FORMAT.md: the 4-bit block 0xBEEFD5E7. */
  @Test
  void formatWorkedExample() {
    SeedLmCodec c = (SeedLmCodec) Codecs.parse("seedlm-4bit");
    byte[] word = {(byte) 0xBE, (byte) 0xEF, (byte) 0xD5, (byte) 0xE7};
    SeedChoice ch = c.readBlock(word, 0);
    assertEquals(0xBEEF, ch.seed());
    assertEquals(48879, ch.seed());
    assertEquals(-3, ch.exponent());
    assertArrayEquals(new int[] {5, -2, 7}, ch.q());
    float[] a = new float[8];
    float[] b = new float[8];
    c.decode(word, 0, 1, a, 0);
    c.decodeBlock(48879, -3, new int[] {5, -2, 7}, b, 0);
    assertArrayEquals(b, a);
    // Independent decode from FORMAT.md: LFSR K=16 taps (0,1,3,12), u = (float) ((v - 32768) / 32767.0),
    // th_j = q_j * 2^e, acc = u_i0 * th_0, then fma.
    int state = 48879;
    float[] th = {5 / 8f, -2 / 8f, 7 / 8f};
    for (int i = 0; i < 8; i++) {
      float[] u = new float[3];
      for (int j = 0; j < 3; j++) {
        int fb = (state ^ (state >> 1) ^ (state >> 3) ^ (state >> 12)) & 1;
        state = (state >> 1) | (fb << 15);
        u[j] = (float) ((state - 32768) / 32767.0);
      }
      float acc = u[0] * th[0];
      acc = Math.fma(u[1], th[1], acc);
      acc = Math.fma(u[2], th[2], acc);
      assertEquals(Float.floatToRawIntBits(acc), Float.floatToRawIntBits(a[i]), "weight " + i);
    }
  }
}
