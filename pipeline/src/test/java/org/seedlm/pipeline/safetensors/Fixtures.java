package org.seedlm.pipeline.safetensors;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.apache.hadoop.fs.Path;

/** Test helpers: raw safetensors bytes written with java.nio (no Hadoop .crc side files). */
final class Fixtures {
  private Fixtures() {}

  /** 8-byte little-endian length prefix {@code n}, then {@code header}, then {@code data}. */
  static byte[] raw(long n, byte[] header, byte[] data) {
    ByteBuffer bb = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.putLong(n).put(header).put(data);
    return bb.array();
  }

  /** A file with a JSON header (its true length) followed by {@code data}. */
  static byte[] raw(String json, byte[] data) {
    byte[] h = json.getBytes(StandardCharsets.UTF_8);
    return raw(h.length, h, data);
  }

  static Path write(java.nio.file.Path file, byte[] bytes) throws IOException {
    Files.write(file, bytes);
    return new Path(file.toUri());
  }

  static Path write(java.nio.file.Path file, SafetensorsWriter w) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      w.writeTo(out);
    }
    return new Path(file.toUri());
  }

  static byte[] le16(int... bits) {
    ByteBuffer bb = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int b : bits) {
      bb.putShort((short) b);
    }
    return bb.array();
  }

  static byte[] le32(float... v) {
    ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      bb.putFloat(f);
    }
    return bb.array();
  }

  static byte[] le64(double... v) {
    ByteBuffer bb = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (double d : v) {
      bb.putDouble(d);
    }
    return bb.array();
  }

  static byte[] leInts(int... v) {
    ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int i : v) {
      bb.putInt(i);
    }
    return bb.array();
  }
}
