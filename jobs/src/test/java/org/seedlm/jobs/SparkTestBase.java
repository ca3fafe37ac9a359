package org.seedlm.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.seedlm.pipeline.bert.BertImporter;

/** One shared local[2] session per test class, and the imported BERT-base model. */
abstract class SparkTestBase {
  static SparkSession spark;
  static Path bert;
  static final PrintStream OUT = System.out;

  @BeforeAll
  static void startSpark() throws IOException {
    String cache = System.getProperty("seedlm.cache.dir", "target/test-cache");
    bert = BertImporter.ensureImported(BertImporter.locateJar(), new Path(cache, "bert-base-uncased"),
        new Configuration());
    spark = Sparks.session("seedlm-test", "local[2]", Map.of("spark.sql.shuffle.partitions", "2"));
  }

  @AfterAll
  static void stopSpark() {
    if (spark != null) {
      spark.stop();
      spark = null;
    }
  }

  /** SHA-256 of every file under a directory (relative name to hex), ignoring Hadoop's .crc files. */
  static Map<String, String> digests(java.nio.file.Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (var s = Files.walk(dir)) {
      for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) s::iterator) {
        if (Files.isRegularFile(p) && !p.getFileName().toString().endsWith(".crc")) {
          try {
            var md = java.security.MessageDigest.getInstance("SHA-256");
            out.put(dir.relativize(p).toString(), java.util.HexFormat.of().formatHex(md.digest(Files.readAllBytes(p))));
          } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
          }
        }
      }
    }
    return out;
  }
}
