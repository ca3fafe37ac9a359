package org.seedlm.pipeline.decode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Decode throughput of {@link SeedLmDecoder} on one thread and on {@code --threads} threads (default:
 * all cores; disjoint slices of the blocks), each against the same machine's memcpy on as many
 * threads ({@code System.arraycopy} of a float array as large as the decoded output), in one process.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp ... org.seedlm.pipeline.decode.DecodeBenchmark
 *     [--json] [--config seedlm-4bit|seedlm-3bit|all] [--decode-blocks N] [--seed N] [--threads N]
 * </pre>
 *
 * Other options of {@code SearchBenchmark} ({@code --blocks}, {@code --file}, ...) are accepted
 * and ignored, so {@code seedlm bench} can pass its arguments to both. Random valid codes (seeds
 * uniform in 1..2^K-1, e and q uniform in [-8, 7]). Reported per config: decoded weights per
 * second, GB/s of float32 output (10^9 bytes), memcpy GB/s (bytes copied per second), their ratio,
 * the scalar path ({@code vectorBitSize = 0}) and the reference twin for comparison, and whether
 * every timed output (fast on 1 thread, scalar, fast on N threads) equals the reference twin's bit
 * for bit on every block ("exact on all N blocks"). Each timing is the best of several repetitions.
 */
public final class DecodeBenchmark {
  private DecodeBenchmark() {}

  static volatile float sink;

  /** One configuration's result; the {@code mt} figures use {@code threads} threads on disjoint slices. */
  public record Result(String config, int blocks, long weights, int lanes, double weightsPerSecond,
      double gbPerSecond, double memcpyGbPerSecond, double scalarWeightsPerSecond, double refWeightsPerSecond,
      boolean exact, int threads, double mtWeightsPerSecond, double mtMemcpyGbPerSecond) {

    public double fractionOfMemcpy() {
      return gbPerSecond / memcpyGbPerSecond;
    }

    public double mtFractionOfMemcpy() {
      return mtWeightsPerSecond * 4 / 1e9 / mtMemcpyGbPerSecond;
    }

    public String json() {
      return String.format(Locale.ROOT, "{\"bench\":\"decode\",\"config\":\"%s\",\"blocks\":%d,\"weights\":%d,"
          + "\"lanes\":%d,\"threads\":1,\"weights_per_s\":%.4e,\"gb_per_s\":%.3f,\"memcpy_gb_per_s\":%.3f,"
          + "\"fraction_of_memcpy\":%.3f,\"scalar_weights_per_s\":%.4e,\"ref_weights_per_s\":%.4e,\"exact\":%s,"
          + "\"mt_threads\":%d,\"mt_weights_per_s\":%.4e,\"mt_memcpy_gb_per_s\":%.3f,\"mt_fraction_of_memcpy\":%.3f}",
          config, blocks, weights, lanes, weightsPerSecond, gbPerSecond, memcpyGbPerSecond, fractionOfMemcpy(),
          scalarWeightsPerSecond, refWeightsPerSecond, exact, threads, mtWeightsPerSecond, mtMemcpyGbPerSecond,
          mtFractionOfMemcpy());
    }

    public String text() {
      return String.format(Locale.ROOT, "decode %s (%s): %.3g weights/s = %.2f GB/s float32 out; memcpy %.2f GB/s;"
          + " %.2f of memcpy; scalar %.3g weights/s (x%.2f), reference %.3g weights/s (x%.2f); exact=%s (on all %d blocks)",
          config, lanes == 0 ? "scalar" : lanes + " lanes", weightsPerSecond, gbPerSecond, memcpyGbPerSecond,
          fractionOfMemcpy(), scalarWeightsPerSecond, weightsPerSecond / scalarWeightsPerSecond,
          refWeightsPerSecond, weightsPerSecond / refWeightsPerSecond, exact, blocks)
          + String.format(Locale.ROOT, "%n  %d threads: %.3g weights/s = %.2f GB/s; memcpy on %d threads %.2f GB/s; "
          + "%.2f of memcpy", threads, mtWeightsPerSecond, mtWeightsPerSecond * 4 / 1e9, threads, mtMemcpyGbPerSecond,
          mtFractionOfMemcpy());
    }
  }

  public static void main(String[] args) {
    boolean json = false;
    String config = "all";
    int blocks = 0;
    long seed = 1;
    int threads = Runtime.getRuntime().availableProcessors();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--json" -> json = true;
        case "--config" -> config = args[++i];
        case "--decode-blocks" -> blocks = Integer.parseInt(args[++i]);
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        case "--blocks", "--ref-blocks", "--file" -> i++; // search benchmark options
        default -> throw new IllegalArgumentException("Cannot run decode benchmark: unknown option " + args[i]);
      }
    }
    List<SeedLmParams> configs = new ArrayList<>();
    if (config.equals("all") || config.equals("seedlm-4bit")) {
      configs.add(SeedLmParams.FOUR_BIT);
    }
    if (config.equals("all") || config.equals("seedlm-3bit")) {
      configs.add(SeedLmParams.THREE_BIT);
    }
    if (configs.isEmpty()) {
      throw new IllegalArgumentException("Cannot run decode benchmark: unknown --config " + config);
    }
    if (!json) {
      System.out.println("== decode (1 thread, then " + threads + " threads)");
    }
    for (SeedLmParams p : configs) {
      Result r = run(p, blocks > 0 ? blocks : (1 << 24) / p.c(), seed, threads);
      System.out.println(json ? r.json() : r.text());
    }
  }

  /** Random valid packed codes. */
  static byte[] randomCodes(SeedLmParams params, int blocks, long rngSeed) {
    SeedLmCodec codec = new SeedLmCodec(params);
    Random r = new Random(rngSeed);
    byte[] packed = new byte[(int) codec.packedBytes(blocks)];
    int[] q = new int[params.p()];
    for (int b = 0; b < blocks; b++) {
      for (int j = 0; j < q.length; j++) {
        q[j] = r.nextInt(16) - 8;
      }
      codec.writeBlock(packed, (long) b * params.bitsPerBlock(), 1 + r.nextInt(params.numSeeds()),
          r.nextInt(16) - 8, q);
    }
    return packed;
  }

  public static Result run(SeedLmParams params, int blocks, long rngSeed, int threads) {
    byte[] packed = randomCodes(params, blocks, rngSeed);
    long weights = (long) blocks * params.c();
    float[] out = new float[Math.toIntExact(weights)];
    SeedLmDecoder fast = SeedLmDecoder.of(params);
    SeedLmDecoder scalar = new SeedLmDecoder(params, 0);

    int warm = Math.min(blocks, 4096);
    for (int i = 0; i < 300; i++) { // compile the decoders before timing them
      fast.decode(packed, i % 7, warm - 7, out, 0);
      scalar.decode(packed, i % 7, warm - 7, out, 0);
      if (i < 100) {
        scalar.decodeRef(packed, i % 7, warm / 4, out, 0);
      }
    }
    double memcpy = memcpyBytesPerSecond(out.length);
    double tFast = best(7, () -> fast.decode(packed, 0, blocks, out, 0), out);
    float[] fastOut = out.clone();
    double tScalar = best(3, () -> scalar.decode(packed, 0, blocks, out, 0), out);
    float[] scalarOut = out.clone();
    int refBlocks = Math.max(1, blocks / 8);
    float[] refOut = new float[refBlocks * params.c()];
    double tRef = best(2, () -> scalar.decodeRef(packed, 0, refBlocks, refOut, 0), refOut) * blocks / refBlocks;
    // every timed output is checked against the reference twin on every block
    float[] want = new float[out.length];
    scalar.decodeRef(packed, 0, blocks, want, 0);
    boolean exact = sameBits(want, fastOut) && sameBits(want, scalarOut);
    float[] copyFrom = new float[out.length];
    int[] slice = new int[threads + 1]; // thread t decodes blocks slice[t] .. slice[t+1]-1
    for (int t = 0; t <= threads; t++) {
      slice[t] = (int) ((long) blocks * t / threads);
    }
    int c = params.c();
    double tMt = best(7, () -> parallel(threads, t -> fast.decode(packed, slice[t], slice[t + 1] - slice[t], out,
        slice[t] * c)), out);
    boolean mtExact = sameBits(want, out);
    double tMtCopy = best(7, () -> parallel(threads, t -> System.arraycopy(copyFrom, slice[t] * c, out, slice[t] * c,
        (slice[t + 1] - slice[t]) * c)), out);
    double wps = weights / tFast;
    return new Result(params.name(), blocks, weights, fast.lanes(), wps, wps * 4 / 1e9, memcpy / 1e9,
        weights / tScalar, weights / tRef, exact && mtExact, threads, weights / tMt, 4.0 * weights / tMtCopy / 1e9);
  }

  private static boolean sameBits(float[] a, float[] b) {
    for (int i = 0; i < a.length; i++) {
      if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
        return false;
      }
    }
    return true;
  }

  /** Runs {@code body(0..threads-1)} on that many threads and waits for all. */
  private static void parallel(int threads, java.util.function.IntConsumer body) {
    Thread[] ts = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      int id = t;
      ts[t] = new Thread(() -> body.accept(id));
      ts[t].start();
    }
    for (Thread t : ts) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("decode benchmark interrupted", e);
      }
    }
  }

  private static double best(int reps, Runnable r, float[] touched) {
    double best = Double.POSITIVE_INFINITY;
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      r.run();
      best = Math.min(best, (System.nanoTime() - t0) / 1e9);
      sink += touched[i % touched.length];
    }
    return best;
  }

  /** Best-of-7 bytes per second of {@code System.arraycopy} of {@code n} floats. */
  static double memcpyBytesPerSecond(int n) {
    float[] a = new float[n];
    float[] b = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    double t = best(7, () -> System.arraycopy(a, 0, b, 0, n), b);
    return 4.0 * n / t;
  }
}
