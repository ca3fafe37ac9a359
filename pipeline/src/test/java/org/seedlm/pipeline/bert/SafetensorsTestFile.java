package org.seedlm.pipeline.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Minimal safetensors reading for tests: the JSON header and F32 tensors by name. */
final class SafetensorsTestFile implements AutoCloseable {
  final JsonNode header;
  private final FileChannel ch;
  private final long dataStart;

  SafetensorsTestFile(Path file) throws IOException {
    ch = FileChannel.open(file, StandardOpenOption.READ);
    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    ch.read(len, 0);
    long n = len.getLong(0);
    ByteBuffer h = ByteBuffer.allocate((int) n);
    ch.read(h, 8);
    header = new ObjectMapper().readTree(h.array());
    dataStart = 8 + n;
  }

  List<String> tensorNames() {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = header.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!k.equals("__metadata__")) {
        names.add(k);
      }
    }
    return names;
  }

  long[] shape(String name) {
    JsonNode s = header.get(name).get("shape");
    long[] r = new long[s.size()];
    for (int i = 0; i < r.length; i++) {
      r[i] = s.get(i).asLong();
    }
    return r;
  }

  float[] floats(String name) throws IOException {
    JsonNode t = header.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no tensor " + name);
    }
    long a = t.get("data_offsets").get(0).asLong();
    long b = t.get("data_offsets").get(1).asLong();
    ByteBuffer buf = ByteBuffer.allocate((int) (b - a)).order(ByteOrder.LITTLE_ENDIAN);
    while (buf.hasRemaining()) {
      if (ch.read(buf, dataStart + a + buf.position()) < 0) {
        throw new IOException("short file");
      }
    }
    buf.flip();
    float[] f = new float[(int) ((b - a) / 4)];
    buf.asFloatBuffer().get(f);
    return f;
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }
}
