package org.seedlm.jobs;

import org.seedlm.pipeline.BadInputException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.spark.SparkConf;

/**
 * Resolves settings once, on the driver, with one precedence for every key:
 * <ol>
 *   <li>the command-line option ({@code --codec seedlm-3bit});</li>
 *   <li>Spark conf {@code spark.seedlm.<key>} ({@code --conf spark.seedlm.codec=seedlm-3bit}, or
 *       spark-defaults.conf on a cluster);</li>
 *   <li>{@code seedlm.properties} in the conf directory ({@code $SEEDLM_CONF_DIR}, else the
 *       {@code seedlm.conf.dir} system property that {@code deploy/seedlm} sets to {@code conf/});</li>
 *   <li>the built-in default (the {@code *_DEFAULT} constants below).</li>
 * </ol>
 * Executors never see this class: jobs pass them small immutable records.
 */
final class SeedLmConf {

  /** Codec name; see {@code Codecs}. 4-bit SeedLM by default. */
  static final String CODEC = "codec";
  static final String CODEC_DEFAULT = "seedlm-4bit";
  /** Blocks per work unit: the unit of retry, commit and resume. Smaller units resume finer but add files. */
  static final String UNIT_BLOCKS = "unit-blocks";
  static final int UNIT_BLOCKS_DEFAULT = 32768;
  /** NaN/Inf weights: {@code fail} (default, names tensor and block) or {@code zero}. */
  static final String NON_FINITE = "non-finite";
  static final String NON_FINITE_DEFAULT = "fail";
  /** Seed-search implementation: {@code fast} (SIMD kernel, default) or {@code reference} (plain loops). */
  static final String KERNEL = "kernel";
  static final String KERNEL_DEFAULT = "fast";
  /**
   * Where SeedLM kernels run: {@code auto} (default: the GPU when one can be used, else the CPU,
   * saying why once), {@code gpu} (refused when there is none) or {@code cpu}. See README, GPU.
   */
  static final String DEVICE = "device";
  static final String DEVICE_DEFAULT = "auto";
  /** CUDA device ordinal where Spark does not assign one (local mode, commands outside Spark). */
  static final String GPU_ORDINAL = "gpu-ordinal";
  static final int GPU_ORDINAL_DEFAULT = 0;
  /**
   * SeedLM coefficient rule: {@code best} (default: the smallest error among e, e - 1 and the floor/ceil
   * roundings of every coefficient, at no cost in bits) or {@code nearest} (format version 1's rule, a
   * little faster to encode).
   */
  static final String COEFFICIENTS = "coefficients";
  static final String COEFFICIENTS_DEFAULT = "best";
  /**
   * SeedLM blocks per exponent-offset group G (format version 2: 8 bits per group keep small weights at
   * full precision); default 4096, or the largest power of two dividing unit-blocks when smaller; 0 for
   * format version 1 (no offsets).
   */
  static final String GROUP_BLOCKS = "group-blocks";

  /** Largest packed output shard. */
  static final String SHARD_SIZE = "shard-size";
  static final String SHARD_SIZE_DEFAULT = "4g";
  /** Seconds between progress lines on the console. */
  static final String PROGRESS_INTERVAL = "progress-interval";
  static final String PROGRESS_INTERVAL_DEFAULT = "10";
  /** Spark master when neither --master nor spark-submit sets one. */
  static final String MASTER = "master";
  static final String MASTER_DEFAULT = "local[*]";

  private final Properties file;
  private final SparkConf spark;

  private SeedLmConf(Properties file, SparkConf spark) {
    this.file = file;
    this.spark = spark;
  }

  /** Loads the properties file (if any) and reads Spark conf from system properties (spark-submit). */
  static SeedLmConf load() {
    Properties p = new Properties();
    String dir = System.getenv("SEEDLM_CONF_DIR");
    if (dir == null) {
      dir = System.getProperty("seedlm.conf.dir");
    }
    if (dir != null) {
      Path f = Path.of(dir, "seedlm.properties");
      if (Files.isRegularFile(f)) {
        try (InputStream in = Files.newInputStream(f)) {
          p.load(in);
        } catch (IOException e) {
          throw new BadInputException("Cannot read " + f + ": " + e.getMessage(), e);
        }
      }
    }
    return new SeedLmConf(p, new SparkConf(true));
  }

  /** The resolved value of {@code key}. */
  String get(String key, String cliValue, String defaultValue) {
    if (cliValue != null) {
      return cliValue;
    }
    String sparkKey = "spark.seedlm." + key;
    if (spark.contains(sparkKey)) {
      return spark.get(sparkKey);
    }
    return file.getProperty(key, defaultValue);
  }

  int getInt(String key, Integer cliValue, int defaultValue) {
    Integer v = getIntOrNull(key, cliValue);
    return v == null ? defaultValue : v;
  }

  /** The resolved integer value of {@code key}, or null when nothing sets it. */
  Integer getIntOrNull(String key, Integer cliValue) {
    String v = get(key, cliValue == null ? null : cliValue.toString(), null);
    if (v == null) {
      return null;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new BadInputException(String.format("Cannot use %s=\"%s\": not an integer", key, v));
    }
  }

  /** Seconds between progress lines. */
  double progressSeconds() {
    String v = get(PROGRESS_INTERVAL, null, PROGRESS_INTERVAL_DEFAULT);
    try {
      return Double.parseDouble(v.trim());
    } catch (NumberFormatException e) {
      throw new BadInputException(String.format("Cannot use %s=\"%s\": not a number of seconds", PROGRESS_INTERVAL, v));
    }
  }

  /** The master: --master, else spark.master (spark-submit), else the properties file, else local[*]. */
  String master(String cliValue) {
    if (cliValue != null) {
      return cliValue;
    }
    if (spark.contains("spark.master")) {
      return spark.get("spark.master");
    }
    return file.getProperty(MASTER, MASTER_DEFAULT);
  }

  /** Parses sizes such as {@code 512m}, {@code 4g}, {@code 1048576}. */
  static long parseBytes(String key, String v) {
    String s = v.trim().toLowerCase(java.util.Locale.ROOT);
    long mult = 1;
    if (s.endsWith("k")) {
      mult = 1L << 10;
    } else if (s.endsWith("m")) {
      mult = 1L << 20;
    } else if (s.endsWith("g")) {
      mult = 1L << 30;
    }
    if (mult > 1) {
      s = s.substring(0, s.length() - 1);
    }
    try {
      long n = Long.parseLong(s) * mult;
      if (n <= 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new BadInputException(String.format(
          "Cannot use %s=\"%s\": expected a positive size such as 512m or 4g", key, v));
    }
  }
}
