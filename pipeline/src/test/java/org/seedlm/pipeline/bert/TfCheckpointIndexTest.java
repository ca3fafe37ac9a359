package org.seedlm.pipeline.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** SSTable / BundleEntryProto parsing on small hand-built checkpoints. */
class TfCheckpointIndexTest {

  // ---------------------------------------------------------------- tiny encoders (test-only)

  private static void varint(ByteArrayOutputStream o, long v) {
    while ((v & ~0x7fL) != 0) {
      o.write((int) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    o.write((int) v);
  }

  private static void fixed32(ByteArrayOutputStream o, int v) {
    o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
  }

  private static int crc(byte[] b) {
    CRC32C c = new CRC32C();
    c.update(b);
    return (int) c.getValue();
  }

  /** BundleEntryProto bytes. */
  static byte[] entry(int dtype, long[] shape, long offset, long size, int maskedCrc) {
    ByteArrayOutputStream shp = new ByteArrayOutputStream();
    for (long d : shape) {
      ByteArrayOutputStream dim = new ByteArrayOutputStream();
      varint(dim, 1 << 3);
      varint(dim, d);
      varint(shp, 2 << 3 | 2);
      varint(shp, dim.size());
      shp.writeBytes(dim.toByteArray());
    }
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    varint(o, 1 << 3);
    varint(o, dtype);
    varint(o, 2 << 3 | 2);
    varint(o, shp.size());
    o.writeBytes(shp.toByteArray());
    if (offset != 0) {
      varint(o, 4 << 3);
      varint(o, offset);
    }
    varint(o, 5 << 3);
    varint(o, size);
    varint(o, 6 << 3 | 5);
    fixed32(o, maskedCrc);
    return o.toByteArray();
  }

  /** A block (prefix-compressed, restart every 2 entries) followed by its 5-byte trailer. */
  static byte[] block(List<byte[][]> kvs) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    List<Integer> restarts = new java.util.ArrayList<>();
    byte[] prev = new byte[0];
    for (int i = 0; i < kvs.size(); i++) {
      byte[] k = kvs.get(i)[0];
      byte[] v = kvs.get(i)[1];
      int shared = 0;
      if (i % 2 == 0) {
        restarts.add(o.size());
      } else {
        while (shared < Math.min(prev.length, k.length) && prev[shared] == k[shared]) {
          shared++;
        }
      }
      varint(o, shared);
      varint(o, k.length - shared);
      varint(o, v.length);
      o.write(k, shared, k.length - shared);
      o.writeBytes(v);
      prev = k;
    }
    if (restarts.isEmpty()) {
      restarts.add(0);
    }
    for (int r : restarts) {
      fixed32(o, r);
    }
    fixed32(o, restarts.size());
    byte[] contents = o.toByteArray();
    byte[] withType = Arrays.copyOf(contents, contents.length + 1);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(contents);
    out.write(0);
    fixed32(out, TfCheckpointIndex.mask(crc(withType)));
    return out.toByteArray();
  }

  /** A whole index file: one data block with the given entries, an empty metaindex, the index. */
  static byte[] sstable(List<byte[][]> kvs) {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    byte[] data = block(kvs);
    f.writeBytes(data);
    int metaOff = f.size();
    byte[] meta = block(List.of());
    f.writeBytes(meta);
    ByteArrayOutputStream handle = new ByteArrayOutputStream();
    varint(handle, 0);
    varint(handle, data.length - 5);
    byte[] lastKey = kvs.get(kvs.size() - 1)[0];
    int indexOff = f.size();
    byte[] index = block(List.<byte[][]>of(new byte[][] {lastKey, handle.toByteArray()}));
    f.writeBytes(index);
    ByteArrayOutputStream footer = new ByteArrayOutputStream();
    varint(footer, metaOff);
    varint(footer, meta.length - 5);
    varint(footer, indexOff);
    varint(footer, index.length - 5);
    while (footer.size() < 40) {
      footer.write(0);
    }
    footer.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(TfCheckpointIndex.MAGIC).array());
    f.writeBytes(footer.toByteArray());
    return f.toByteArray();
  }

  private static byte[] key(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] header() {
    return new byte[] {8, 1}; // num_shards = 1
  }

  private static byte[] floatsLE(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putFloat(x);
    }
    return b.array();
  }

  private static byte[] sample(int dtypeOfSecond) {
    byte[] a = floatsLE(1, 2, 3, 4, 5, 6);
    byte[] b = floatsLE(7, 8);
    return sstable(List.of(
        new byte[][] {key(""), header()},
        new byte[][] {key("layer/dense/bias"), entry(dtypeOfSecond, new long[] {2}, 24, 8, TfCheckpointIndex.mask(crc(b)))},
        new byte[][] {key("layer/dense/kernel"), entry(1, new long[] {2, 3}, 0, 24, TfCheckpointIndex.mask(crc(a)))}));
  }

  // ---------------------------------------------------------------- tests

  @Test
  void parsesHandBuiltIndexAndVerifiesData() throws Exception {
    TfCheckpointIndex idx = TfCheckpointIndex.parse(sample(1), "t.index");
    assertEquals(List.of("layer/dense/bias", "layer/dense/kernel"), List.copyOf(idx.entries().keySet()));
    TfCheckpointIndex.Entry k = idx.entry("layer/dense/kernel");
    assertArrayEquals(new long[] {2, 3}, k.shape());
    assertEquals(0, k.offset());
    assertEquals(24, k.size());
    assertEquals(TfCheckpointIndex.TfDType.FLOAT, k.dtype());
    assertEquals(24, idx.entry("layer/dense/bias").offset());
    byte[] data = new byte[32];
    System.arraycopy(floatsLE(1, 2, 3, 4, 5, 6, 7, 8), 0, data, 0, 32);
    TfCheckpoint ck = new TfCheckpoint(idx, data, "t.data");
    ck.verifyAll();
    assertArrayEquals(new float[] {7, 8}, ck.floats("layer/dense/bias"));
    data[30] ^= 1;
    var ex = assertThrows(TfCheckpointFormatException.class, ck::verifyAll);
    assertTrue(ex.getMessage().contains("t.data") && ex.getMessage().contains("CRC32C mismatch")
        && ex.getMessage().contains("layer/dense/bias"), ex.getMessage());
  }

  @Test
  void dataShorterThanIndexSays() throws Exception {
    TfCheckpointIndex idx = TfCheckpointIndex.parse(sample(1), "t.index");
    var ex = assertThrows(TfCheckpointFormatException.class, () -> new TfCheckpoint(idx, new byte[20], "t.data"));
    assertTrue(ex.getMessage().startsWith("t.data: ") && ex.getMessage().contains("truncated"), ex.getMessage());
  }

  @Test
  void badMagic() {
    byte[] f = sample(1);
    f[f.length - 1] ^= 0x55;
    var ex = assertThrows(TfCheckpointFormatException.class, () -> TfCheckpointIndex.parse(f, "x/variables.index"));
    assertTrue(ex.getMessage().startsWith("x/variables.index: bad SSTable magic"), ex.getMessage());
  }

  @Test
  void tooShortForFooter() {
    var ex = assertThrows(TfCheckpointFormatException.class,
        () -> TfCheckpointIndex.parse(new byte[10], "short.index"));
    assertTrue(ex.getMessage().contains("short.index") && ex.getMessage().contains("footer"), ex.getMessage());
  }

  @Test
  void truncatedBlocksKeepingFooter() {
    byte[] f = sample(1);
    // Drop the first 30 bytes of blocks but keep the footer: the handles now point past the data.
    byte[] cut = new byte[f.length - 30];
    System.arraycopy(f, 0, cut, 0, f.length - 48 - 30);
    System.arraycopy(f, f.length - 48, cut, cut.length - 48, 48);
    var ex = assertThrows(TfCheckpointFormatException.class, () -> TfCheckpointIndex.parse(cut, "cut.index"));
    assertTrue(ex.getMessage().startsWith("cut.index: ") && ex.getMessage().contains("truncated"), ex.getMessage());
  }

  @Test
  void corruptBlockChecksum() {
    byte[] f = sample(1);
    f[5] ^= 0x01; // inside the data block
    var ex = assertThrows(TfCheckpointFormatException.class, () -> TfCheckpointIndex.parse(f, "c.index"));
    assertTrue(ex.getMessage().contains("c.index") && ex.getMessage().contains("checksum mismatch"), ex.getMessage());
  }

  @Test
  void unsupportedDtype() {
    var ex = assertThrows(TfCheckpointFormatException.class, () -> TfCheckpointIndex.parse(sample(7), "s.index"));
    assertTrue(ex.getMessage().contains("s.index") && ex.getMessage().contains("unsupported dtype code 7")
        && ex.getMessage().contains("layer/dense/bias"), ex.getMessage());
  }

  @Test
  void maskMatchesLevelDbDefinition() {
    // mask(0) = 0xa282ead8, and the rotation by 15 bits.
    assertEquals(0xa282ead8, TfCheckpointIndex.mask(0));
    assertEquals(Integer.rotateRight(0x12345678, 15) + 0xa282ead8, TfCheckpointIndex.mask(0x12345678));
  }

  @Test
  void nameMapping() {
    assertNull(BertImporter.map("global_step"));
    assertNull(BertImporter.map("bert/encoder/layer_3/output/dense/kernel/adam_m"));
    var q = BertImporter.map("module/bert/encoder/layer_11/attention/self/query/kernel");
    assertEquals("bert.encoder.layer.11.attention.self.query.weight", q.hfName());
    assertTrue(q.transpose());
    var ln = BertImporter.map("bert/encoder/layer_0/attention/output/LayerNorm/gamma");
    assertEquals("bert.encoder.layer.0.attention.output.LayerNorm.weight", ln.hfName());
    assertEquals("bert.embeddings.word_embeddings.weight",
        BertImporter.map("module/bert/embeddings/word_embeddings").hfName());
    assertEquals("cls.predictions.bias", BertImporter.map("cls/predictions/output_bias").hfName());
    var nsp = BertImporter.map("cls/seq_relationship/output_weights");
    assertEquals("cls.seq_relationship.weight", nsp.hfName());
    assertTrue(!nsp.transpose());
    var ex = assertThrows(IllegalArgumentException.class, () -> BertImporter.map("bert/encoder/layer_0/mystery"));
    assertTrue(ex.getMessage().contains("Unmapped TF variable \"bert/encoder/layer_0/mystery\""));
    assertTrue(BertImporter.compareNatural("bert.encoder.layer.2.x", "bert.encoder.layer.10.x") < 0);
  }
}
