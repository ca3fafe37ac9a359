package org.seedlm.pipeline;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The crash-safe way to write a file that readers may open at any time: write it under
 * {@code _tmp.<name>} in the same directory, then rename it into place (replacing an older version), so
 * that a reader sees either no file or the whole file, never a partial one. The SHA-256 of the bytes is
 * computed on the way.
 */
public final class ReplacingWrite {
  private ReplacingWrite() {}

  /** Writes a file's content to {@code out} (buffered; not to be closed); returns the bytes written. */
  @FunctionalInterface
  public interface Body {
    long writeTo(OutputStream out) throws IOException;
  }

  /** What was written: the file's length and lowercase hex SHA-256. */
  public record Written(long bytes, String sha256) implements java.io.Serializable {}

  /** Writes {@code dst} through a temporary file in its directory, then renames it into place. */
  public static Written write(FileSystem fs, Path dst, Body body) throws IOException {
    Path tmp = new Path(dst.getParent(), "_tmp." + dst.getName());
    MessageDigest md = Sha256.digest();
    long bytes;
    try (FSDataOutputStream raw = fs.create(tmp, true)) {
      BufferedOutputStream buf = new BufferedOutputStream(new DigestOutputStream(raw, md), 1 << 20);
      bytes = body.writeTo(buf);
      buf.flush();
    }
    fs.delete(dst, false);
    if (!fs.rename(tmp, dst)) {
      throw new IOException("Cannot write " + dst + ": rename from " + tmp + " failed");
    }
    return new Written(bytes, Sha256.hex(md.digest()));
  }

  /** Writes {@code content} to {@code dst} the same way. */
  public static Written write(FileSystem fs, Path dst, byte[] content) throws IOException {
    return write(fs, dst, out -> {
      out.write(content);
      return content.length;
    });
  }
}
