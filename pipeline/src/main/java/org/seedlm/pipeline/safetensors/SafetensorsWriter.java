package org.seedlm.pipeline.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes one safetensors file: 8-byte little-endian header length, the JSON header (padded with
 * spaces to a multiple of 8 bytes), then the tensors' little-endian data back to back in the order
 * they were added. The output is deterministic: the same tensors and metadata give the same bytes.
 *
 * <p>Tensor data is supplied as a {@link DataSource} so that large tensors can be streamed.
 */
public final class SafetensorsWriter {

  /** Streams a tensor's raw little-endian bytes; must write exactly the declared byte length. */
  @FunctionalInterface
  public interface DataSource {
    void writeTo(OutputStream out) throws IOException;
  }

  private record Entry(String name, DType dtype, long[] shape, long byteLength, DataSource data) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<Entry> entries = new ArrayList<>();
  private final Map<String, String> metadata = new TreeMap<>();

  /** Adds a string entry to {@code __metadata__}. */
  public SafetensorsWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  /** Adds a tensor whose raw little-endian bytes are streamed by {@code data}. */
  public SafetensorsWriter add(String name, DType dtype, long[] shape, DataSource data) {
    long numel = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("Cannot add tensor " + name + ": negative dimension " + d);
      }
      numel = Math.multiplyExact(numel, d);
    }
    if (name.isEmpty() || name.equals("__metadata__")) {
      throw new IllegalArgumentException("Cannot add tensor: invalid name \"" + name + "\"");
    }
    for (Entry e : entries) {
      if (e.name.equals(name)) {
        throw new IllegalArgumentException("Cannot add tensor " + name + ": duplicate name");
      }
    }
    entries.add(new Entry(name, dtype, shape.clone(), Math.multiplyExact(numel, (long) dtype.size()), data));
    return this;
  }

  /** Adds a tensor given as raw little-endian bytes. */
  public SafetensorsWriter add(String name, DType dtype, long[] shape, byte[] raw) {
    return add(name, dtype, shape, out -> out.write(raw));
  }

  /** Adds a float tensor, stored as F32. */
  public SafetensorsWriter addF32(String name, long[] shape, float[] values) {
    return add(name, DType.F32, shape, out -> {
      ByteBuffer bb = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (float v : values) {
        if (!bb.hasRemaining()) {
          out.write(bb.array(), 0, bb.position());
          bb.clear();
        }
        bb.putFloat(v);
      }
      out.write(bb.array(), 0, bb.position());
    });
  }

  /** The header JSON bytes (including the space padding), as they will be written. */
  public byte[] headerBytes() {
    ObjectNode root = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode m = root.putObject("__metadata__");
      metadata.forEach(m::put);
    }
    long offset = 0;
    for (Entry e : entries) {
      ObjectNode t = root.putObject(e.name);
      t.put("dtype", e.dtype.name());
      var shape = t.putArray("shape");
      for (long d : e.shape) {
        shape.add(d);
      }
      var offs = t.putArray("data_offsets");
      offs.add(offset);
      offs.add(offset + e.byteLength);
      offset += e.byteLength;
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(root);
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
    int padded = (json.length + 7) & ~7;
    byte[] out = new byte[padded];
    System.arraycopy(json, 0, out, 0, json.length);
    for (int i = json.length; i < padded; i++) {
      out[i] = ' ';
    }
    return out;
  }

  /** Writes the whole file to {@code out} (which is not closed). Returns the number of bytes written. */
  public long writeTo(OutputStream out) throws IOException {
    byte[] header = headerBytes();
    byte[] len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array();
    out.write(len);
    out.write(header);
    long total = 8L + header.length;
    for (Entry e : entries) {
      CountingStream cs = new CountingStream(out);
      e.data.writeTo(cs);
      if (cs.count != e.byteLength) {
        throw new IOException(String.format(
            "Cannot write tensor %s: its data source wrote %d bytes, the header declares %d",
            e.name, cs.count, e.byteLength));
      }
      total += cs.count;
    }
    return total;
  }

  /** Writes the file to a Hadoop path (overwriting it). Returns the number of bytes written. */
  public long write(Path path, Configuration conf) throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    try (FSDataOutputStream out = fs.create(path, true)) {
      java.io.BufferedOutputStream buffered = new java.io.BufferedOutputStream(out, 1 << 20);
      long n = writeTo(buffered);
      buffered.flush();
      return n;
    }
  }

  /** Names of the tensors added so far, in order. */
  public Map<String, long[]> shapes() {
    Map<String, long[]> m = new LinkedHashMap<>();
    for (Entry e : entries) {
      m.put(e.name, e.shape.clone());
    }
    return m;
  }

  private static final class CountingStream extends OutputStream {
    private final OutputStream out;
    private long count;

    CountingStream(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }
  }
}
