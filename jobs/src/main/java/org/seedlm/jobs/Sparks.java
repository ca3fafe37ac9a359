package org.seedlm.jobs;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/** Builds the SparkSession of a command. */
final class Sparks {
  private Sparks() {}

  /**
   * A session on {@code master}. In local mode the driver binds to 127.0.0.1 and the UI is off
   * unless asked for; on a cluster nothing is pinned. {@code extra} is Spark conf from --conf.
   */
  static SparkSession session(String appName, String master, Map<String, String> extra) {
    System.setProperty("io.netty.tryReflectionSetAccessible", "true");
    SparkSession.Builder b = SparkSession.builder().appName(appName).master(master);
    if (master.startsWith("local")) {
      b.config("spark.driver.host", "127.0.0.1")
          .config("spark.driver.bindAddress", "127.0.0.1")
          .config("spark.ui.enabled", System.getProperty("spark.ui.enabled", "false"));
    }
    b.config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.adaptive.enabled", "false");
    extra.forEach(b::config);
    SparkSession s = b.getOrCreate();
    s.sparkContext().setLogLevel(System.getProperty("seedlm.spark.logLevel", "WARN"));
    return s;
  }
}
