package org.seedlm.pipeline;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256, the checksum of run units, packed files, tensors and model fingerprints: one place for all. */
public final class Sha256 {
  private Sha256() {}

  /** A new digest (every JVM has SHA-256). */
  public static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Lowercase hex of a digest's bytes. */
  public static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }

  /** Lowercase hex SHA-256 of {@code data}. */
  public static String of(byte[] data) {
    return hex(digest().digest(data));
  }
}
