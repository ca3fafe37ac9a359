package org.seedlm.pipeline.kernel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Reference vs fast seed search on the same blocks, in one process.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp ... org.seedlm.pipeline.kernel.SearchBenchmark
 *     [--json] [--config seedlm-4bit|seedlm-3bit|all] [--threads N] [--blocks N]
 *     [--ref-blocks N] [--seed N] [--file weights.f32 (raw little-endian float32)]
 * </pre>
 *
 * Gaussian N(0,1) blocks (or the first blocks of --file). The reference ({@link
 * SeedLmCodec#searchRef}) runs single-threaded on the first --ref-blocks blocks; the fast kernel
 * runs on all --blocks blocks with 1 thread and with --threads threads. "exact" means: on every
 * reference block the fast errors are == the reference's and the seeds, exponents and q are equal
 * (the reference resolves exact ties to the smallest seed, and so does the kernel); on every timed
 * block the e, q and error returned are the reference's for the returned seed ({@link
 * SeedLmCodec#choice}); and the 1-thread and N-thread fast results are identical on all blocks.
 * The full arg-min is checked on --ref-blocks blocks only (the reference search is about 10^4 times
 * slower), and the output says on how many ("arg-min checked on N of M blocks").
 *
 * <p>{@code --sweep} instead measures, in one process on the same Gaussian blocks, the fast kernel's
 * 1-thread blocks/s at sigma 1 and 0.002 for three variants: {@code v1} (today's version 1: rule nearest,
 * every offset 0), {@code nearest} and {@code best} with the format version 2 offsets (G = 4096), with
 * each variant's ratio to {@code v1} at sigma 1, its second passes, and the same exactness checks
 * (arg-min on the first --ref-blocks blocks, default 8 here; e, q and error re-scored on every block).
 */
public final class SearchBenchmark {
  private SearchBenchmark() {}

  static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  static volatile float sink;

  /** Single-core float FMA peak in lane-FMAs per second (10 independent chains). */
  static double fmaPeak() {
    double best = 0;
    for (int rep = 0; rep < 7; rep++) {
      int iters = 4_000_000;
      long t0 = System.nanoTime();
      fmaLoop(iters);
      long t1 = System.nanoTime();
      best = Math.max(best, 10.0 * S.length() * iters / ((t1 - t0) * 1e-9));
    }
    return best;
  }

  static void fmaLoop(int iters) {
    FloatVector a0 = FloatVector.broadcast(S, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
    FloatVector a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
    FloatVector m = FloatVector.broadcast(S, 0.999999f), d = FloatVector.broadcast(S, 1e-7f);
    for (int i = 0; i < iters; i++) {
      a0 = a0.fma(m, d);
      a1 = a1.fma(m, d);
      a2 = a2.fma(m, d);
      a3 = a3.fma(m, d);
      a4 = a4.fma(m, d);
      a5 = a5.fma(m, d);
      a6 = a6.fma(m, d);
      a7 = a7.fma(m, d);
      a8 = a8.fma(m, d);
      a9 = a9.fma(m, d);
    }
    sink +=
        a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9)
            .reduceLanes(VectorOperators.ADD);
  }

  static float[] gaussian(int n, long seed) {
    Random r = new Random(seed);
    float[] w = new float[n];
    for (int i = 0; i < n; i++) w[i] = (float) r.nextGaussian();
    return w;
  }

  static float[] readF32(String file, int n) throws IOException {
    byte[] b = Files.readAllBytes(Path.of(file));
    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    int avail = b.length / 4;
    float[] w = new float[n];
    for (int i = 0; i < n && i < avail; i++) w[i] = bb.getFloat(i * 4);
    return w;
  }

  public static void main(String[] args) throws Exception {
    boolean json = false;
    String config = "all";
    int threads = Runtime.getRuntime().availableProcessors();
    int blocks = -1, refBlocks = -1;
    long seed = 42;
    String file = null;
    boolean sweep = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--json": json = true; break;
        case "--config": config = args[++i]; break;
        case "--threads": threads = Integer.parseInt(args[++i]); break;
        case "--blocks": blocks = Integer.parseInt(args[++i]); break;
        case "--ref-blocks": refBlocks = Integer.parseInt(args[++i]); break;
        case "--seed": seed = Long.parseLong(args[++i]); break;
        case "--file": file = args[++i]; break;
        case "--sweep": sweep = true; break;
        default: throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    List<SeedLmParams> cfgs = new ArrayList<>();
    if (config.equals("all")) {
      cfgs.add(SeedLmParams.FOUR_BIT);
      cfgs.add(SeedLmParams.THREE_BIT);
    } else cfgs.add(SeedLmParams.named(config));
    if (sweep) {
      for (SeedLmParams prm : cfgs) sweep(prm, blocks, refBlocks > 0 ? refBlocks : 8, seed);
      return;
    }
    double peak = fmaPeak();
    if (!json)
      System.out.printf(Locale.ROOT, "single-core FMA peak: %.1f GFMA/s (%d-bit vectors)%n", peak / 1e9,
          S.vectorBitSize());
    for (SeedLmParams prm : cfgs) {
      boolean four = prm.equals(SeedLmParams.FOUR_BIT);
      int nb = blocks > 0 ? blocks : (four ? 12000 : 5000);
      int nr = Math.min(nb, refBlocks > 0 ? refBlocks : (four ? 300 : 150));
      int c = prm.c(), p = prm.p();
      float[] w = file != null ? readF32(file, nb * c) : gaussian(nb * c, seed + c);
      SeedLmCodec ref = new SeedLmCodec(prm);
      long tb0 = System.nanoTime();
      FastSeedSearch one = new FastSeedSearch(prm, 1, FastSeedSearch.defaultVectorBitSize());
      FastSeedSearch many = new FastSeedSearch(prm, threads, FastSeedSearch.defaultVectorBitSize());
      double tableMs = (System.nanoTime() - tb0) / 1e6;
      // warm-up
      for (int i = 0; i < 3; i++) {
        one.search(w, 0, Math.min(nb, 1000));
        many.search(w, 0, Math.min(nb, 1000));
      }
      // reference
      SeedChoice[] want = new SeedChoice[nr];
      long r0 = System.nanoTime();
      for (int b = 0; b < nr; b++) want[b] = ref.searchRef(w, b * c);
      double refS = (System.nanoTime() - r0) * 1e-9;
      double refRate = nr / refS;
      // fast, best of 3 runs each
      double t1 = Double.MAX_VALUE, tn = Double.MAX_VALUE;
      FastSeedSearch.Result r1 = null, rn = null;
      for (int rep = 0; rep < 3; rep++) {
        long a = System.nanoTime();
        r1 = one.search(w, 0, nb);
        t1 = Math.min(t1, (System.nanoTime() - a) * 1e-9);
        a = System.nanoTime();
        rn = many.search(w, 0, nb);
        tn = Math.min(tn, (System.nanoTime() - a) * 1e-9);
      }
      int mismatches = 0, ties = 0;
      for (int b = 0; b < nr; b++) {
        SeedChoice x = want[b];
        boolean same = x.err() == rn.err[b] && x.exponent() == rn.exp[b];
        for (int j = 0; j < p; j++) same &= x.q(j) == rn.q[b * p + j];
        if (x.seed() != rn.seed[b]) {
          if (x.err() == rn.err[b]) ties++;
          same = false; // both resolve ties to the smallest seed, so seeds must be equal
        }
        if (!same) mismatches++;
      }
      // every timed block: the returned e, q and err are the reference's for the returned seed
      int rescoreDiffs = 0;
      double[] wd = new double[c];
      for (int b = 0; b < nb; b++) {
        for (int i = 0; i < c; i++) wd[i] = w[b * c + i];
        SeedChoice x = ref.choice(wd, 0, rn.seed[b]);
        boolean same = x.err() == rn.err[b] && x.exponent() == rn.exp[b];
        for (int j = 0; j < p; j++) same &= x.q(j) == rn.q[b * p + j];
        if (!same) rescoreDiffs++;
      }
      int threadDiff = 0;
      for (int b = 0; b < nb; b++) {
        boolean same = r1.seed[b] == rn.seed[b] && r1.err[b] == rn.err[b] && r1.exp[b] == rn.exp[b];
        for (int j = 0; j < p; j++) same &= r1.q[b * p + j] == rn.q[b * p + j];
        if (!same) threadDiff++;
      }
      boolean exact = mismatches == 0 && threadDiff == 0 && rescoreDiffs == 0;
      double rate1 = nb / t1, rateN = nb / tn;
      int nt = Math.min(threads, Runtime.getRuntime().availableProcessors());
      double perCore = rateN / nt;
      int fmas = c + p * (p + 1) / 2 + p + 1;
      double frac = rate1 * prm.numSeeds() * (double) fmas / peak;
      double target = four ? 20000 : 8000;
      double relErr = 0;
      for (int b = 0; b < nb; b++) {
        double n2 = 0;
        for (int i = 0; i < c; i++) n2 += (double) w[b * c + i] * w[b * c + i];
        if (n2 > 0) relErr += rn.err[b] / n2;
      }
      relErr = Math.sqrt(relErr / nb);
      if (json) {
        System.out.printf(Locale.ROOT,
            "{\"config\":\"%s\",\"threads\":%d,\"blocks\":%d,\"blocks_per_s\":%.1f,"
                + "\"blocks_per_s_per_core\":%.1f,\"blocks_per_s_1thread\":%.1f,\"thread_speedup\":%.3f,"
                + "\"ref_blocks\":%d,\"ref_blocks_per_s_per_core\":%.2f,\"speedup_vs_ref\":%.1f,"
                + "\"exact\":%b,\"exact_checked_blocks\":%d,\"rescore_diffs\":%d,\"mismatches\":%d,\"exact_ties\":%d,\"thread_diffs\":%d,"
                + "\"second_passes\":%d,\"exact_calls_per_block\":%.2f,\"vector\":%b,"
                + "\"fma_peak_gflops\":%.2f,\"useful_fmas_per_seed\":%d,\"fraction_of_peak_1thread\":%.3f,"
                + "\"target_blocks_per_s_per_core\":%.0f,\"rel_rms_error\":%.5f,\"table_build_ms\":%.1f,"
                + "\"input\":\"%s\"}%n",
            prm.name(), nt, nb, rateN, perCore, rate1, rateN / rate1, nr, refRate, perCore / refRate,
            exact, nr, rescoreDiffs, mismatches, ties, threadDiff, rn.fallbacks, rn.exactCalls / (double) nb,
            one.isVector(), peak / 1e9, fmas, frac, target, relErr, tableMs,
            file != null ? file.replace("\\", "/").replace("\"", "'") : "gaussian");
      } else {
        System.out.printf(Locale.ROOT,
            "%s: C=%d P=%d K=%d, %d blocks (%s), vector=%b%n"
                + "  fast, 1 thread : %9.1f blocks/s%n"
                + "  fast, %d threads: %9.1f blocks/s total, %.1f per core (target %.0f), x%.2f over 1 thread%n"
                + "  reference      : %9.2f blocks/s per core (%d blocks); fast speed-up x%.0f%n"
                + "  exact vs reference: %b; arg-min checked on %d of %d blocks (%d mismatches, %d exact-tie"
                + " seed differences), e/q/err re-scored on all %d (%d differ), %d thread diffs%n"
                + "  second passes %d, exact scorings per block %.2f, rel RMS error %.4f, tables %.0f ms%n"
                + "  useful FMAs per seed per block %d -> %.1f%% of the single-core FMA peak%n",
            prm.name(), c, p, prm.k(), nb, file != null ? file : "gaussian", one.isVector(), rate1, nt,
            rateN, perCore, target, rateN / rate1, refRate, nr, perCore / refRate, exact, nr, nb,
            mismatches, ties, nb, rescoreDiffs, threadDiff, rn.fallbacks, rn.exactCalls / (double) nb, relErr, tableMs, fmas,
            100 * frac);
      }
    }
  }

  /** One variant of {@code --sweep}: name, rule, whether the blocks get the version 2 offsets. */
  private record Variant(String name, CoefficientRule rule, boolean offsets) {}

  private static final Variant[] VARIANTS = {
    new Variant("v1", CoefficientRule.NEAREST, false),
    new Variant("nearest", CoefficientRule.NEAREST, true),
    new Variant("best", CoefficientRule.BEST, true)
  };

  /**
   * {@code --sweep}: blocks/s of each variant at sigma 1 and 0.002, exactness checked as in the class comment.
   * The variants' timed runs alternate (three rounds, the best of each kept), so a slow phase of a shared
   * machine hits all of them.
   */
  static void sweep(SeedLmParams prm, int blocks, int refBlocks, long seed) {
    boolean four = prm.equals(SeedLmParams.FOUR_BIT);
    int nb = blocks > 0 ? blocks : (four ? 12000 : 5000);
    int nr = Math.min(nb, refBlocks);
    int c = prm.c(), p = prm.p();
    System.out.printf(Locale.ROOT, "%s: %d Gaussian blocks per sigma, 1 thread, best of 3 alternating runs; G = %d%n",
        prm.name(), nb, SeedLmCodec.DEFAULT_GROUP_BLOCKS);
    System.out.printf(Locale.ROOT, "  %-8s %-7s %12s %9s %13s %12s %9s  %s%n", "sigma", "variant", "blocks/s", "vs v1@1",
        "second_passes", "exact/block", "rel_rms", "exact");
    double base = Double.NaN;
    for (double sigma : new double[] {1, 0.002}) {
      float[] w = gaussian(nb * c, seed + c);
      for (int i = 0; i < w.length; i++) w[i] = (float) (sigma * w[i]);
      int nv = VARIANTS.length;
      SeedLmCodec[] ref = new SeedLmCodec[nv];
      int[][] offsets = new int[nv][];
      FastSeedSearch[] fs = new FastSeedSearch[nv];
      FastSeedSearch.Result[] res = new FastSeedSearch.Result[nv];
      double[] t = new double[nv];
      for (int v = 0; v < nv; v++) {
        Variant x = VARIANTS[v];
        ref[v] = new SeedLmCodec(prm, x.rule(), x.offsets() ? SeedLmCodec.DEFAULT_GROUP_BLOCKS : 0);
        offsets[v] = ref[v].groupOffsets(w, 0, nb);
        fs[v] = new FastSeedSearch(prm, x.rule(), 1, FastSeedSearch.defaultVectorBitSize());
        fs[v].search(w, 0, Math.min(nb, 1000), offsets[v], ref[v].groupBlocks()); // warm-up
        t[v] = Double.MAX_VALUE;
      }
      for (int rep = 0; rep < 3; rep++) {
        for (int v = 0; v < nv; v++) {
          long a = System.nanoTime();
          res[v] = fs[v].search(w, 0, nb, offsets[v], ref[v].groupBlocks());
          t[v] = Math.min(t[v], (System.nanoTime() - a) * 1e-9);
        }
      }
      for (int v = 0; v < nv; v++) {
        FastSeedSearch.Result r = res[v];
        int diffs = 0;
        double relErr = 0;
        double[] wd = new double[c];
        for (int b = 0; b < nb; b++) {
          for (int i = 0; i < c; i++) wd[i] = w[b * c + i];
          int o = SeedLmCodec.offsetOf(offsets[v], ref[v].groupBlocks(), b);
          SeedChoice x = b < nr ? ref[v].searchRef(wd, 0, o) : ref[v].choice(wd, 0, r.seed[b], o);
          boolean same = x.seed() == r.seed[b] && x.err() == r.err[b] && x.exponent() == r.exp[b];
          for (int j = 0; j < p; j++) same &= x.q(j) == r.q[b * p + j];
          if (!same) diffs++;
          double n2 = 0;
          for (int i = 0; i < c; i++) n2 += wd[i] * wd[i];
          if (n2 > 0) relErr += r.err[b] / n2;
        }
        double rate = nb / t[v];
        if (sigma == 1 && v == 0) base = rate;
        System.out.printf(Locale.ROOT, "  %-8s %-7s %12.1f %9.3f %13d %12.2f %9.4f  %s%n", sigma, VARIANTS[v].name(),
            rate, rate / base, r.fallbacks, r.exactCalls / (double) nb, Math.sqrt(relErr / nb),
            diffs == 0 ? "yes (arg-min on " + nr + ", re-scored on " + nb + ")" : "NO: " + diffs + " blocks differ");
      }
    }
  }
}
