package org.seedlm.pipeline.bert;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Parser for a TensorFlow V2 checkpoint index ({@code variables.index}): a LevelDB-format SSTable
 * with uncompressed blocks whose keys are tensor names and whose values are {@code BundleEntryProto}
 * messages (the empty key holds the {@code BundleHeaderProto}).
 *
 * <p>Layout handled here: a 48-byte footer (metaindex and index block handles as varints, zero
 * padding, then the 8-byte magic {@code 0xdb4775248b80fb57}); blocks made of prefix-compressed
 * entries, a restart-point array and its count; each block followed by a 5-byte trailer (compression
 * type, masked CRC32C of the block contents plus the type byte). Every structural problem raises a
 * {@link TfCheckpointFormatException} naming the file.
 */
public final class TfCheckpointIndex {

  /** The SSTable footer magic number. */
  public static final long MAGIC = 0xdb4775248b80fb57L;

  private static final int FOOTER_LENGTH = 48;
  private static final int TRAILER_LENGTH = 5;
  private static final int MASK_DELTA = 0xa282ead8;

  /** TensorFlow {@code DataType} codes this reader knows the element size of. */
  public enum TfDType {
    FLOAT(1, 4), DOUBLE(2, 8), INT32(3, 4), INT64(9, 8);

    private final int code;
    private final int size;

    TfDType(int code, int size) {
      this.code = code;
      this.size = size;
    }

    public int code() {
      return code;
    }

    /** Bytes per element. */
    public int size() {
      return size;
    }

    static TfDType of(int code) {
      for (TfDType t : values()) {
        if (t.code == code) {
          return t;
        }
      }
      return null;
    }
  }

  /**
   * One tensor of the bundle.
   *
   * @param crc32c the CRC32C of the tensor bytes as stored by TensorFlow, i.e. in masked form
   *     (see {@link TfCheckpointIndex#mask(int)})
   */
  public record Entry(String name, TfDType dtype, long[] shape, int shardId, long offset, long size,
      int crc32c) {
    /** Number of elements (product of the shape; 1 for a scalar). */
    public long numel() {
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }

    @Override
    public String toString() {
      return name + " " + dtype + Arrays.toString(shape) + " @" + offset + "+" + size;
    }
  }

  private final String fileName;
  private final int numShards;
  private final Map<String, Entry> entries;

  private TfCheckpointIndex(String fileName, int numShards, Map<String, Entry> entries) {
    this.fileName = fileName;
    this.numShards = numShards;
    this.entries = Collections.unmodifiableMap(entries);
  }

  /** The name used in error messages. */
  public String fileName() {
    return fileName;
  }

  /** Number of data shards declared by the header. */
  public int numShards() {
    return numShards;
  }

  /** All tensors, by name in key (byte) order. */
  public Map<String, Entry> entries() {
    return entries;
  }

  /** The tensor called {@code name}; throws naming the file if absent. */
  public Entry entry(String name) throws TfCheckpointFormatException {
    Entry e = entries.get(name);
    if (e == null) {
      throw new TfCheckpointFormatException(fileName + ": no tensor named \"" + name + "\"");
    }
    return e;
  }

  /** TensorFlow/LevelDB CRC masking: rotate right by 15 bits and add a constant. */
  public static int mask(int crc) {
    return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
  }

  /**
   * Parses a whole index file.
   *
   * @param bytes the file contents
   * @param fileName used in error messages
   */
  public static TfCheckpointIndex parse(byte[] bytes, String fileName) throws TfCheckpointFormatException {
    if (bytes.length < FOOTER_LENGTH) {
      throw fail(fileName, "file is " + bytes.length + " bytes, shorter than the 48-byte SSTable footer"
          + " (truncated?)");
    }
    int footer = bytes.length - FOOTER_LENGTH;
    long magic = readLong(bytes, bytes.length - 8);
    if (magic != MAGIC) {
      throw fail(fileName, String.format("bad SSTable magic 0x%016x (expected 0x%016x); not a"
          + " TensorFlow checkpoint index, or truncated", magic, MAGIC));
    }
    Cursor fc = new Cursor(bytes, footer, bytes.length - 8, fileName, "footer");
    fc.varint64(); // metaindex handle: offset (unused; the metaindex block is empty in TF bundles)
    fc.varint64(); // metaindex handle: size
    long indexOffset = fc.varint64();
    long indexSize = fc.varint64();
    byte[] index = block(bytes, indexOffset, indexSize, footer, fileName, "index block");

    TreeMap<String, Entry> entries = new TreeMap<>();
    int[] numShards = {-1};
    byte[][] lastKey = {null};
    forEachEntry(index, fileName, "index block", (key, value) -> {
      Cursor hc = new Cursor(value, 0, value.length, fileName, "index entry");
      long off = hc.varint64();
      long size = hc.varint64();
      String where = "data block at offset " + off;
      byte[] data = block(bytes, off, size, footer, fileName, where);
      forEachEntry(data, fileName, where, (k, v) -> {
        if (lastKey[0] != null && Arrays.compareUnsigned(lastKey[0], k) >= 0) {
          throw fail(fileName, "keys out of order at \"" + utf8(k) + "\" in " + where);
        }
        lastKey[0] = k;
        if (k.length == 0) {
          numShards[0] = parseHeader(v, fileName);
        } else {
          Entry e = parseEntry(utf8(k), v, fileName);
          entries.put(e.name(), e);
        }
      });
    });
    if (numShards[0] < 0) {
      throw fail(fileName, "no BundleHeaderProto (empty key) found");
    }
    for (Entry e : entries.values()) {
      if (e.shardId() >= numShards[0]) {
        throw fail(fileName, "tensor " + e.name() + " is in shard " + e.shardId() + " but the header declares "
            + numShards[0] + " shard(s)");
      }
    }
    return new TfCheckpointIndex(fileName, numShards[0], entries);
  }

  // ---------------------------------------------------------------- SSTable blocks

  @FunctionalInterface
  private interface EntryVisitor {
    void visit(byte[] key, byte[] value) throws TfCheckpointFormatException;
  }

  /** Returns a block's contents after checking bounds, compression type and the trailer CRC. */
  private static byte[] block(byte[] file, long offset, long size, int limit, String fileName, String what)
      throws TfCheckpointFormatException {
    if (offset < 0 || size < 4 || offset + size + TRAILER_LENGTH > limit) {
      throw fail(fileName, what + " (offset " + offset + ", size " + size + ") extends past the end of the"
          + " data region (" + limit + " bytes); truncated or corrupt file");
    }
    int o = (int) offset;
    int n = (int) size;
    int type = file[o + n] & 0xff;
    if (type != 0) {
      throw fail(fileName, what + " uses compression type " + type + "; only uncompressed blocks are supported");
    }
    CRC32C crc = new CRC32C();
    crc.update(file, o, n + 1);
    int stored = readInt(file, o + n + 1);
    if (mask((int) crc.getValue()) != stored) {
      throw fail(fileName, String.format("%s: block checksum mismatch (stored 0x%08x, computed masked 0x%08x)",
          what, stored, mask((int) crc.getValue())));
    }
    return Arrays.copyOfRange(file, o, o + n);
  }

  private static void forEachEntry(byte[] block, String fileName, String what, EntryVisitor visitor)
      throws TfCheckpointFormatException {
    int numRestarts = readInt(block, block.length - 4);
    long restartsStart = block.length - 4 - 4L * Integer.toUnsignedLong(numRestarts);
    if (numRestarts < 1 || restartsStart < 0) {
      throw fail(fileName, what + ": invalid restart count " + Integer.toUnsignedLong(numRestarts)
          + " for a " + block.length + "-byte block");
    }
    int end = (int) restartsStart;
    int[] restarts = new int[numRestarts];
    for (int i = 0; i < numRestarts; i++) {
      restarts[i] = readInt(block, end + 4 * i);
      if (restarts[i] < 0 || restarts[i] > end) {
        throw fail(fileName, what + ": restart point " + i + " = " + restarts[i] + " is out of range");
      }
    }
    Cursor c = new Cursor(block, 0, end, fileName, what);
    byte[] key = new byte[0];
    int nextRestart = 0;
    while (c.pos < end) {
      boolean atRestart = nextRestart < numRestarts && c.pos == restarts[nextRestart];
      if (atRestart) {
        nextRestart++;
      }
      int shared = c.varint32();
      int nonShared = c.varint32();
      int valueLength = c.varint32();
      if (shared > key.length || (atRestart && shared != 0)) {
        throw fail(fileName, what + ": corrupt entry at byte " + c.pos + " (shared key prefix " + shared + ")");
      }
      byte[] delta = c.bytes(nonShared);
      byte[] value = c.bytes(valueLength);
      byte[] newKey = Arrays.copyOf(key, shared + nonShared);
      System.arraycopy(delta, 0, newKey, shared, nonShared);
      key = newKey;
      visitor.visit(key, value);
    }
  }

  // ---------------------------------------------------------------- protobuf

  private static int parseHeader(byte[] v, String fileName) throws TfCheckpointFormatException {
    Cursor c = new Cursor(v, 0, v.length, fileName, "BundleHeaderProto");
    int numShards = 1;
    int endianness = 0;
    while (c.pos < v.length) {
      long tag = c.varint64();
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (field == 1 && wire == 0) {
        numShards = (int) c.varint64();
      } else if (field == 2 && wire == 0) {
        endianness = (int) c.varint64();
      } else {
        c.skip(wire);
      }
    }
    if (endianness != 0) {
      throw fail(fileName, "bundle is big-endian; only little-endian checkpoints are supported");
    }
    if (numShards < 1) {
      throw fail(fileName, "header declares " + numShards + " shards");
    }
    return numShards;
  }

  private static Entry parseEntry(String name, byte[] v, String fileName) throws TfCheckpointFormatException {
    Cursor c = new Cursor(v, 0, v.length, fileName, "BundleEntryProto of " + name);
    int dtypeCode = 0;
    long[] shape = new long[0];
    int shard = 0;
    long offset = 0;
    long size = 0;
    Integer crc = null;
    while (c.pos < v.length) {
      long tag = c.varint64();
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      switch (field) {
        case 1 -> dtypeCode = (int) c.expect(wire, 0).varint64();
        case 2 -> shape = parseShape(c.expect(wire, 2).bytes(c.varint32()), name, fileName);
        case 3 -> shard = (int) c.expect(wire, 0).varint64();
        case 4 -> offset = c.expect(wire, 0).varint64();
        case 5 -> size = c.expect(wire, 0).varint64();
        case 6 -> crc = c.expect(wire, 5).fixed32();
        case 7 -> throw fail(fileName, "tensor " + name + " is partitioned (has slices); not supported");
        default -> c.skip(wire);
      }
    }
    TfDType dtype = TfDType.of(dtypeCode);
    if (dtype == null) {
      throw fail(fileName, "tensor " + name + " has unsupported dtype code " + dtypeCode
          + " (supported: 1 float, 2 double, 3 int32, 9 int64)");
    }
    if (crc == null) {
      throw fail(fileName, "tensor " + name + " has no crc32c");
    }
    long numel = 1;
    for (long d : shape) {
      if (d < 0) {
        throw fail(fileName, "tensor " + name + " has unknown dimension " + d);
      }
      numel = Math.multiplyExact(numel, d);
    }
    if (size != numel * dtype.size() || offset < 0) {
      throw fail(fileName, "tensor " + name + ": size " + size + " does not match shape "
          + Arrays.toString(shape) + " of " + dtype);
    }
    return new Entry(name, dtype, shape, shard, offset, size, crc);
  }

  private static long[] parseShape(byte[] b, String name, String fileName) throws TfCheckpointFormatException {
    Cursor c = new Cursor(b, 0, b.length, fileName, "TensorShapeProto of " + name);
    long[] dims = new long[0];
    while (c.pos < b.length) {
      long tag = c.varint64();
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (field == 2 && wire == 2) {
        byte[] dim = c.bytes(c.varint32());
        Cursor d = new Cursor(dim, 0, dim.length, fileName, "TensorShapeProto.Dim of " + name);
        long size = 0;
        while (d.pos < dim.length) {
          long t = d.varint64();
          if ((t >>> 3) == 1 && (t & 7) == 0) {
            size = d.varint64();
          } else {
            d.skip((int) (t & 7));
          }
        }
        dims = Arrays.copyOf(dims, dims.length + 1);
        dims[dims.length - 1] = size;
      } else if (field == 3 && wire == 0) {
        if (c.varint64() != 0) {
          throw fail(fileName, "tensor " + name + " has unknown rank");
        }
      } else {
        c.skip(wire);
      }
    }
    return dims;
  }

  /** Bounds-checked reader over a byte range; all failures name the file and the structure. */
  private static final class Cursor {
    final byte[] b;
    int pos;
    final int end;
    final String fileName;
    final String what;

    Cursor(byte[] b, int pos, int end, String fileName, String what) {
      this.b = b;
      this.pos = pos;
      this.end = end;
      this.fileName = fileName;
      this.what = what;
    }

    private TfCheckpointFormatException truncated() {
      return fail(fileName, what + " is truncated at byte " + pos);
    }

    long varint64() throws TfCheckpointFormatException {
      long r = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= end) {
          throw truncated();
        }
        int x = b[pos++] & 0xff;
        r |= (long) (x & 0x7f) << shift;
        if (x < 0x80) {
          return r;
        }
      }
      throw fail(fileName, what + ": varint longer than 10 bytes at byte " + pos);
    }

    int varint32() throws TfCheckpointFormatException {
      long v = varint64();
      if (v < 0 || v > Integer.MAX_VALUE) {
        throw fail(fileName, what + ": length " + v + " out of range at byte " + pos);
      }
      return (int) v;
    }

    int fixed32() throws TfCheckpointFormatException {
      if (end - pos < 4) {
        throw truncated();
      }
      int v = readInt(b, pos);
      pos += 4;
      return v;
    }

    byte[] bytes(int n) throws TfCheckpointFormatException {
      if (n < 0 || end - pos < n) {
        throw truncated();
      }
      byte[] r = Arrays.copyOfRange(b, pos, pos + n);
      pos += n;
      return r;
    }

    Cursor expect(int wire, int expected) throws TfCheckpointFormatException {
      if (wire != expected) {
        throw fail(fileName, what + ": unexpected wire type " + wire + " at byte " + pos);
      }
      return this;
    }

    void skip(int wire) throws TfCheckpointFormatException {
      switch (wire) {
        case 0 -> varint64();
        case 1 -> bytes(8);
        case 2 -> bytes(varint32());
        case 5 -> bytes(4);
        default -> throw fail(fileName, what + ": unsupported wire type " + wire + " at byte " + pos);
      }
    }
  }

  static int readInt(byte[] b, int p) {
    return (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 | (b[p + 2] & 0xff) << 16 | (b[p + 3] & 0xff) << 24;
  }

  static long readLong(byte[] b, int p) {
    return (readInt(b, p) & 0xffffffffL) | ((long) readInt(b, p + 4) << 32);
  }

  private static String utf8(byte[] k) {
    return new String(k, StandardCharsets.UTF_8);
  }

  private static TfCheckpointFormatException fail(String fileName, String message) {
    return new TfCheckpointFormatException(fileName + ": " + message);
  }
}
