package org.seedlm.pipeline.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsHeaderTest {
  @TempDir java.nio.file.Path dir;
  private final Configuration conf = new Configuration();
  private int seq;

  /** Writes the bytes, opens them, expects a CheckpointException naming the file; returns its message. */
  private String error(byte[] bytes) throws Exception {
    String name = "bad" + (seq++) + ".safetensors";
    Path p = Fixtures.write(dir.resolve(name), bytes);
    CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(p, conf).close());
    String m = e.getMessage();
    assertTrue(m.startsWith("Cannot read ") && m.contains(name), m);
    return m;
  }

  private String error(String json, int dataBytes) throws Exception {
    return error(Fixtures.raw(json, new byte[dataBytes]));
  }

  private static void contains(String m, String... parts) {
    for (String p : parts) {
      assertTrue(m.contains(p), () -> "expected \"" + p + "\" in: " + m);
    }
  }

  private static String t(String name, String dtype, String shape, String offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  }

  @Test
  void validHeaderKeepsOrderMetadataAndOffsets() throws Exception {
    String json = "{" + t("z", "F32", "[2]", "[8,16]") + ",\"__metadata__\":{\"format\":\"pt\"},"
        + t("a", "BF16", "[2,2]", "[0,8]") + "," + t("empty", "F16", "[0,3]", "[16,16]") + ","
        + t("scalar", "U8", "[]", "[16,17]") + "}";
    byte[] h = json.getBytes(StandardCharsets.UTF_8);
    SafetensorsHeader hdr = SafetensorsHeader.parse("x.safetensors", 8 + h.length + 20, h);
    assertEquals(List.of("z", "a", "empty", "scalar"), List.copyOf(hdr.tensors().keySet()));
    assertEquals(Map.of("format", "pt"), hdr.metadata());
    assertEquals(8 + h.length, hdr.dataStart());
    assertEquals(20, hdr.dataLength());
    assertEquals(List.of("a", "z", "empty", "scalar"),
        hdr.tensorsByOffset().stream().map(TensorInfo::name).toList());
    assertEquals(0, hdr.tensors().get("empty").numel());
    assertEquals(1, hdr.tensors().get("scalar").numel());
  }

  @Test
  void truncatedData() throws Exception {
    byte[] good = new SafetensorsWriter().addF32("w", new long[] {4}, new float[] {1, 2, 3, 4}).headerBytes();
    byte[] file = Fixtures.raw(good.length, good, new byte[16]);
    String m = error(Arrays.copyOf(file, file.length - 3));
    contains(m, "tensor 'w'", "end beyond the end of the file", "13 bytes", "truncated");
  }

  @Test
  void headerLengthProblems() throws Exception {
    contains(error(Fixtures.raw(1000, "{}".getBytes(), new byte[10])),
        "header length 1000 larger than the file (20 bytes): the file is truncated or not safetensors");
    contains(error(Fixtures.raw(1_000_000_000_000L, "{}".getBytes(), new byte[0])),
        "header length 1000000000000", "limit of 100000000");
    contains(error(Fixtures.raw(-1L, "{}".getBytes(), new byte[0])), "18446744073709551615", "limit");
    contains(error(Fixtures.raw(1, "{".getBytes(), new byte[0])), "header length 1 is smaller than 2");
    contains(error(Fixtures.raw(0, new byte[0], new byte[4])), "header length 0 is smaller than 2");
    contains(error(new byte[] {2, 0, 0}), "only 3 bytes", "too short");
  }

  @Test
  void malformedOrNonObjectJson() throws Exception {
    contains(error("{\"a\": ", 0), "malformed JSON header", "line 1");
    contains(error("{\"a\":1} x", 0), "malformed JSON header");
    contains(error("[1,2]", 0), "header JSON is an array, not an object");
    contains(error("\"hi\"", 0), "not an object");
    contains(error("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "malformed JSON header", "__metadata__");
    byte[] badUtf8 = {'{', '"', (byte) 0xC3, '"', ':', '1', '}', ' '};
    contains(error(Fixtures.raw(badUtf8.length, badUtf8, new byte[0])), "not valid UTF-8");
  }

  @Test
  void metadataMustBeStringMap() throws Exception {
    contains(error("{\"__metadata__\":{\"format\":1}}", 0), "__metadata__ entry 'format' is the number 1, not a string");
    contains(error("{\"__metadata__\":[\"a\"]}", 0), "__metadata__ is an array, not an object of strings");
    contains(error("{\"__metadata__\":{\"k\":null}}", 0), "__metadata__ entry 'k' is null");
  }

  @Test
  void dtypeProblems() throws Exception {
    contains(error("{" + t("w", "F8_E9M9", "[1]", "[0,1]") + "}", 1), "tensor 'w'", "unknown dtype", "F8_E9M9");
    contains(error("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
        "tensor 'w' dtype is the number 7, not a string");
  }

  @Test
  void missingOrExtraKeys() throws Exception {
    contains(error("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w' has no dtype");
    contains(error("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "tensor 'w' has no shape");
    contains(error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "tensor 'w' has no data_offsets");
    contains(error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4),
        "tensor 'w' has unexpected key 'x'");
    contains(error("{\"w\":[1]}", 4), "tensor 'w' entry is an array, not an object");
    contains(error("{" + t("", "F32", "[1]", "[0,4]") + "}", 4), "empty name");
  }

  @Test
  void shapeProblems() throws Exception {
    contains(error("{" + t("w", "F32", "[2,-3]", "[0,4]") + "}", 4), "tensor 'w' shape dimension 1 is negative: -3");
    contains(error("{" + t("w", "F32", "[2.5]", "[0,4]") + "}", 4), "tensor 'w' shape dimension 0 is the number 2.5, not an integer");
    contains(error("{" + t("w", "F32", "[99999999999999999999]", "[0,4]") + "}", 4),
        "tensor 'w' shape dimension 0 99999999999999999999 does not fit in a signed 64-bit integer");
    contains(error("{" + t("w", "F32", "3", "[0,4]") + "}", 4), "tensor 'w' shape is the number 3, not an array");
    contains(error("{" + t("w", "F32", "[4294967296,4294967296,4]", "[0,4]") + "}", 4),
        "tensor 'w' shape [4294967296, 4294967296, 4] has more elements than fit");
    contains(error("{" + t("w", "F64", "[4611686018427387904]", "[0,4]") + "}", 4),
        "tensor 'w' shape [4611686018427387904] of F64 needs more bytes than fit");
  }

  @Test
  void offsetProblems() throws Exception {
    contains(error("{" + t("w", "F32", "[2]", "[0,4]") + "}", 8),
        "tensor 'w' data_offsets [0, 4] span 4 bytes but shape [2] of F32 needs 2 x 4 = 8 bytes");
    contains(error("{" + t("w", "F32", "[2]", "[16,24]") + "}", 8),
        "tensor 'w' data_offsets [16, 24] end beyond the end of the file: the data section holds only 8 bytes");
    contains(error("{" + t("w", "F32", "[2]", "[8,0]") + "}", 8), "tensor 'w' data_offsets [8, 0] has begin after end");
    contains(error("{" + t("w", "F32", "[2]", "[-8,0]") + "}", 8), "tensor 'w' data_offsets begin is negative: -8");
    contains(error("{" + t("w", "F32", "[1]", "[0]") + "}", 8), "tensor 'w' data_offsets is an array of 1 elements, not an array of exactly 2");
    contains(error("{" + t("w", "F32", "[1]", "[0,4,8]") + "}", 8), "tensor 'w' data_offsets is an array of 3 elements");
    contains(error("{" + t("w", "F32", "[1]", "{}") + "}", 8), "tensor 'w' data_offsets is an object");
  }

  @Test
  void overlappingTensors() throws Exception {
    String m = error("{" + t("a", "F32", "[2]", "[0,8]") + "," + t("b", "F32", "[2]", "[4,12]") + "}", 12);
    contains(m, "tensor 'b' bytes [4, 12) overlap tensor 'a' bytes [0, 8)");
    m = error("{" + t("a", "F32", "[4]", "[0,16]") + "," + t("b", "F32", "[1]", "[4,8]") + "}", 16);
    contains(m, "overlap");
    // identical ranges
    contains(error("{" + t("a", "U8", "[4]", "[0,4]") + "," + t("b", "I32", "[1]", "[0,4]") + "}", 4), "overlap");
    // empty tensors inside another's range are fine
    byte[] h = ("{" + t("a", "F32", "[4]", "[0,16]") + "," + t("e", "F32", "[0]", "[4,4]") + "}").getBytes();
    assertEquals(2, SafetensorsHeader.parse("ok", 8 + h.length + 16, h).tensors().size());
  }
}
