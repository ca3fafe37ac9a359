package org.seedlm.jobs.s3;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/** A local[2] session for the S3 tests, with extra conf (the S3A settings). */
final class TestSparks {
  private TestSparks() {}

  static SparkSession session(String app, Map<String, String> extra) {
    System.setProperty("io.netty.tryReflectionSetAccessible", "true");
    SparkSession.Builder b = SparkSession.builder().appName(app).master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.adaptive.enabled", "false");
    extra.forEach(b::config);
    SparkSession s = b.getOrCreate();
    s.sparkContext().setLogLevel("WARN");
    return s;
  }
}
