package org.seedlm.jobs.s3;

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

/** Test helpers over any Hadoop file system (file:, s3a:). */
public final class HadoopFiles {
  private HadoopFiles() {}

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
