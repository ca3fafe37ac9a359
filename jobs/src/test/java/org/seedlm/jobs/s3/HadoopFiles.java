package org.seedlm.jobs.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.RunDirectory;

/** Test helpers over any Hadoop file system (file:, s3a:). */
public final class HadoopFiles {
  private HadoopFiles() {}

  /**
   * Asserts that the packed model of run {@code actualRun} (any file system) is the one of {@code
   * expectedRun}: equal manifests, every file of the manifest stored with its length (and, under 1
   * MiB, its SHA-256), and the same packed bytes for every quantized tensor.
   */
  public static void assertSamePackedModel(String expectedRun, String actualRun, Configuration conf)
      throws IOException {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.JsonNode expected;
    com.fasterxml.jackson.databind.JsonNode actual;
    Path manifest = new Path(expectedRun, RunDirectory.PACKED + "/" + PackedFormat.MANIFEST);
    try (InputStream in = manifest.getFileSystem(conf).open(manifest)) {
      expected = json.readTree(in);
    }
    manifest = new Path(actualRun, RunDirectory.PACKED + "/" + PackedFormat.MANIFEST);
    try (InputStream in = manifest.getFileSystem(conf).open(manifest)) {
      actual = json.readTree(in);
    }
    assertFalse(expected.get("files").isEmpty());
    assertEquals(expected.get("files"), actual.get("files"));
    assertEquals(expected.get("tensor_sha256"), actual.get("tensor_sha256"));
    assertEquals(expected, actual);
    // What is stored is what the manifest says: small files are streamed back and hashed; the big
    // shards are checked by length and by reading the quantized tensors back.
    FileSystem fs = new Path(actualRun).getFileSystem(conf);
    for (var e : actual.get("files").properties()) {
      Path p = new Path(actualRun, RunDirectory.PACKED + "/" + e.getKey());
      long len = e.getValue().get("bytes").asLong();
      assertEquals(len, fs.getFileStatus(p).getLen(), e.getKey());
      if (len < (1 << 20)) {
        assertEquals(e.getValue().get("sha256").asText(), sha256(p, conf), e.getKey());
      }
    }
    try (PackedModel exp = PackedModel.open(new Path(expectedRun, RunDirectory.PACKED), conf);
        PackedModel act = PackedModel.open(new Path(actualRun, RunDirectory.PACKED), conf)) {
      assertEquals(exp.quantized().keySet(), act.quantized().keySet());
      for (String t : act.quantized().keySet()) {
        assertArrayEquals(exp.packedBytes(t), act.packedBytes(t), t);
      }
    }
  }

  /** SHA-256 of every file under {@code dir} (relative name to hex), ignoring .crc files; empty if absent. */
  public static Map<String, String> digests(Path dir, Configuration conf) throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    Map<String, String> out = new TreeMap<>();
    if (!fs.exists(dir)) {
      return out;
    }
    String root = fs.makeQualified(dir).toUri().getPath();
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
    while (it.hasNext()) {
      LocatedFileStatus st = it.next();
      String name = st.getPath().getName();
      if (name.endsWith(".crc")) {
        continue;
      }
      String rel = st.getPath().toUri().getPath().substring(root.length()).replaceFirst("^/", "");
      out.put(rel, sha256(st.getPath(), conf));
    }
    return out;
  }

  /** SHA-256 of one file, streamed. */
  public static String sha256(Path p, Configuration conf) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    byte[] buf = new byte[1 << 20];
    try (InputStream in = p.getFileSystem(conf).open(p)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Every file under {@code dir} with its bytes (for scanning small run directories). */
  public static Map<String, byte[]> contents(Path dir, Configuration conf) throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    Map<String, byte[]> out = new TreeMap<>();
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
    while (it.hasNext()) {
      LocatedFileStatus st = it.next();
      try (InputStream in = fs.open(st.getPath())) {
        out.put(st.getPath().toString(), in.readAllBytes());
      }
    }
    return out;
  }

  /** Writes bytes to a file (overwriting). */
  public static void write(Path p, Configuration conf, byte[] data) throws IOException {
    try (var os = p.getFileSystem(conf).create(p, true)) {
      os.write(data);
    }
  }
}
