package org.seedlm.pipeline.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.decode.SeedLmDecoder;
import org.seedlm.pipeline.kernel.FastSeedSearch;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.TensorInfo;

/**
 * The CUDA kernels' arithmetic ({@code cuda/seedlm.cuh}, the same {@code __host__ __device__}
 * functions the kernels run) compiled for the host by {@code deploy/build-cuda harness} (g++ or
 * nvcc, no FMA contraction) and fed with vectors written here: every decoded float and every searched
 * seed, e, q and float64 error must equal the Java results bit for bit. Skips when no C++ compiler
 * is on PATH.
 *
 * <p>Expected values: version 1 decode from {@link SeedLmDecoder} (the CPU decoder verify runs),
 * version 1 search from {@link SeedLmCodec#searchRef} (and, for the GPU check's larger cases, {@link
 * FastSeedSearch}, equal to it); version 2 (offsets, the {@code best} rule) from the same two,
 * {@link SeedLmDecoder} with offsets and {@link SeedLmCodec#searchRef(double[], int, int)} under the
 * rule. {@link Spec4bOracle}, a plain second implementation written from SPEC 4b, is checked here to
 * agree with both.
 */
class CudaHarnessTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  static final Path STORIES = REPO.resolve("../shared/models/stories260K").normalize();

  @TempDir Path tmp;

  @Test
  void hostHarnessEqualsJavaDecoderAndSearch() throws Exception {
    Path harness = buildHarness();

    KernelVectors v = cases(false);
    Path in = tmp.resolve("vectors.bin");
    Path out = tmp.resolve("results.bin");
    v.write(in);
    Path runLog = tmp.resolve("harness.log");
    int hrc = run(List.of(harness.toString(), in.toString(), out.toString()), runLog);
    String text = read(runLog);
    assertEquals(0, hrc, () -> "harness reported mismatches:\n" + text);
    assertTrue(text.contains("total mismatches: 0"), text);

    KernelVectors.Results r = v.readResults(out);
    for (int i = 0; i < v.decode.size(); i++) {
      KernelVectors.Decode d = v.decode.get(i);
      float[] got = r.decoded().get(i);
      for (int x = 0; x < d.numel(); x++) {
        int xx = x;
        assertEquals(Float.floatToRawIntBits(d.expected()[x]), Float.floatToRawIntBits(got[x]),
            () -> d.name() + " weight " + xx + ": harness " + got[xx] + ", Java " + d.expected()[xx]);
      }
    }
    for (int i = 0; i < v.search.size(); i++) {
      KernelVectors.Search s = v.search.get(i);
      SeedChoice[] got = r.searched().get(i);
      for (int b = 0; b < s.nBlocks(); b++) {
        int bb = b;
        assertEquals(s.expected()[b], got[b], () -> s.name() + " block " + bb);
      }
    }
  }

  /** The harness notices one flipped bit in an expected float and a wrong expected seed. */
  @Test
  void harnessReportsAWrongExpectedValue() throws Exception {
    Path harness = buildHarness();
    SplittableRandom rnd = new SplittableRandom(3);
    KernelVectors v = new KernelVectors();
    SeedLmParams p = new SeedLmParams(8, 3, 8);
    decode(v, "flipped", p, 45, 0, rnd);
    v.decode.get(0).expected()[17] = Float.intBitsToFloat(Float.floatToRawIntBits(v.decode.get(0).expected()[17]) ^ 1);
    float[] w = KernelVectors.gaussian(4, 8, 0.02, rnd);
    searchV1(v, "wrong-seed", p, w, 4, false);
    SeedChoice e = v.search.get(0).expected()[3];
    v.search.get(0).expected()[3] = new SeedChoice(e.seed() % p.numSeeds() + 1, e.exponent(), e.q(), e.err());
    Path in = tmp.resolve("bad.bin");
    v.write(in);
    Path runLog = tmp.resolve("bad.log");
    assertEquals(1, run(List.of(harness.toString(), in.toString(), tmp.resolve("bad-out.bin").toString()), runLog));
    String text = read(runLog);
    assertTrue(text.contains("decode flipped") && text.contains("mismatches=1"), text);
    assertTrue(text.contains("search wrong-seed") && text.contains("total mismatches: 2"), text);
  }

  /**
   * Writes the GPU check's vectors ({@code deploy/gpu-check}) to the file named by {@code
   * -Dseedlm.gpuVectors}; skipped without it.
   */
  @Test
  void writesGpuCheckVectors() throws Exception {
    String out = System.getProperty("seedlm.gpuVectors");
    Assumptions.assumeTrue(out != null, "set -Dseedlm.gpuVectors=FILE to write the GPU check's vectors");
    Path file = REPO.resolve(out);
    Files.createDirectories(file.toAbsolutePath().getParent());
    KernelVectors v = cases(true);
    v.write(file);
    assertTrue(Files.size(file) > 0);
  }

  /** The oracle agrees with the reference decode and search, version 1 and 2, both rules. */
  @Test
  void oracleAgreesWithTheReference() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (SeedLmParams p : List.of(new SeedLmParams(8, 3, 8), new SeedLmParams(12, 4, 9))) {
      SeedLmCodec ref = new SeedLmCodec(p);
      float[] w = KernelVectors.gaussian(20, p.c(), 0.02, rnd);
      for (int b = 0; b < 20; b++) {
        assertEquals(ref.searchRef(w, b * p.c()), Spec4bOracle.search(ref.basis(), w, b * p.c(), 0, Spec4bOracle.NEAREST));
      }
      long numel = 37L * p.c() - 3;
      long blocks = 37;
      byte[] packed = KernelVectors.randomPacked(p, blocks, rnd);
      assertArrayEquals(SeedLmDecoder.of(p).decodeTensor(packed, blocks, numel),
          Spec4bOracle.decode(p, packed, blocks, numel, null, 1));
      int g = 5;
      byte[] off = KernelVectors.randomOffsets(blocks, g, rnd);
      assertArrayEquals(SeedLmDecoder.of(p).decodeTensor(packed, blocks, numel, widen(off), g),
          Spec4bOracle.decode(p, packed, blocks, numel, off, g));
      float[] small = KernelVectors.gaussian(12, p.c(), 0.003, rnd);
      byte[] refOff = KernelVectors.referenceOffsets(small, 12, p.c(), 4);
      for (CoefficientRule rule : CoefficientRule.values()) {
        SeedLmCodec codec = new SeedLmCodec(p, rule, 4);
        assertArrayEquals(codec.groupOffsets(small, 0, 12), widen(refOff));
        for (int b = 0; b < 12; b++) {
          assertEquals(expected(codec, small, b, refOff[b / 4]),
              Spec4bOracle.search(codec.basis(), small, b * p.c(), refOff[b / 4], ruleCode(rule)), rule + " block " + b);
        }
      }
    }
    // E is exact at the powers of two around 7.5 * 2^e
    assertEquals(0, Spec4bOracle.exponentUnclamped(7.5));
    assertEquals(1, Spec4bOracle.exponentUnclamped(Math.nextUp(7.5)));
    assertEquals(-20, Spec4bOracle.exponentUnclamped(7.5 * 0x1p-20));
    assertEquals(-1076, Spec4bOracle.exponentUnclamped(Double.MIN_VALUE), "subnormal: 2^-1074 <= 7.5 * 2^-1076");
  }

  // ---------------------------------------------------------------------------------------------

  /** The cases: small for the unit test, larger ({@code gpu}) for the GPU check. */
  static KernelVectors cases(boolean gpu) throws Exception {
    SplittableRandom rnd = new SplittableRandom(20261203);
    KernelVectors v = new KernelVectors();
    SeedLmParams four = SeedLmParams.FOUR_BIT, three = SeedLmParams.THREE_BIT;
    // decode: 4-bit and 3-bit, odd sizes, version 1 and 2; a small-K config; a block wider than 64 bits
    long big = gpu ? 300_007 : 5_003;
    decode(v, "4bit-v1", four, big, 0, rnd);
    decode(v, "3bit-v1", three, big - 10, 0, rnd);
    decode(v, "4bit-v2-G7", four, big + 2, 7, rnd);
    decode(v, "3bit-v2-G4096", three, gpu ? 500_003 : 50_009, 4096, rnd);
    decode(v, "c5p2k8-v2-G3", new SeedLmParams(5, 2, 8), 77, 3, rnd);
    decode(v, "c16p14k12-v2-G2 (76-bit)", new SeedLmParams(16, 14, 12), 16 * 9 + 5, 2, rnd);
    // search
    int n4 = gpu ? 2000 : 16, n3 = gpu ? 1000 : 8;
    searchV1(v, "4bit-nearest-v1-gauss", four, KernelVectors.gaussian(n4, 8, 0.02, rnd), n4, gpu);
    searchV1(v, "3bit-nearest-v1-gauss", three, KernelVectors.gaussian(n3, 12, 0.02, rnd), n3, gpu);
    float[] real4 = realWeights(gpu ? 1000 * 8 : 32 * 8);
    if (real4 != null) searchV1(v, "4bit-nearest-v1-stories260K", four, real4, real4.length / 8, gpu);
    SeedLmParams s8 = new SeedLmParams(8, 3, 10), s12 = new SeedLmParams(12, 4, 10);
    int ns = gpu ? 400 : 60;
    searchV2(v, "c8p3k10-best-v2-ref", s8, CoefficientRule.BEST, KernelVectors.gaussian(ns, 8, 0.003, rnd), ns, 16, null);
    searchV2(v, "c8p3k10-nearest-v2-ref", s8, CoefficientRule.NEAREST, KernelVectors.gaussian(ns, 8, 0.003, rnd), ns, 16, null);
    searchV2(v, "c12p4k10-best-v2-rand", s12, CoefficientRule.BEST, KernelVectors.gaussian(ns, 12, 0.02, rnd), ns, 5,
        offsets(ns, 5, -20, 10, rnd));
    searchV2(v, "c12p4k10-best-v1", s12, CoefficientRule.BEST, KernelVectors.gaussian(ns, 12, 0.02, rnd), ns, 1, null);
    int nb4 = gpu ? 16 : 3, nb3 = gpu ? 6 : 2;
    searchV2(v, "4bit-best-v2-ref", four, CoefficientRule.BEST, KernelVectors.gaussian(nb4, 8, 0.002, rnd), nb4, 4096, null);
    searchV2(v, "3bit-best-v2-ref", three, CoefficientRule.BEST, KernelVectors.gaussian(nb3, 12, 0.002, rnd), nb3, 4096, null);
    if (real4 != null) {
      int nr = gpu ? 8 : 2;
      searchV2(v, "4bit-best-v2-stories260K", four, CoefficientRule.BEST, java.util.Arrays.copyOf(real4, nr * 8), nr, 4096, null);
    }
    return v;
  }

  private static byte[] offsets(int nBlocks, int g, int lo, int hi, SplittableRandom rnd) {
    byte[] o = new byte[(nBlocks + g - 1) / g];
    for (int i = 0; i < o.length; i++) o[i] = (byte) (lo + rnd.nextInt(hi - lo + 1));
    return o;
  }

  private static void decode(KernelVectors v, String name, SeedLmParams p, long numel, int g, SplittableRandom rnd) {
    long blocks = (numel + p.c() - 1) / p.c();
    byte[] packed = KernelVectors.randomPacked(p, blocks, rnd);
    byte[] off = g == 0 ? null : KernelVectors.randomOffsets(blocks, g, rnd);
    float[] expected = g == 0
        ? SeedLmDecoder.of(p).decodeTensor(packed, blocks, numel)
        : SeedLmDecoder.of(p).decodeTensor(packed, blocks, numel, widen(off), g);
    v.add(new KernelVectors.Decode(name, p, g == 0 ? 1 : g, numel, blocks, off, packed, expected));
  }

  /** Version 1, `nearest`: the reference search (or the fast search, equal to it, for many blocks). */
  private static void searchV1(KernelVectors v, String name, SeedLmParams p, float[] w, int n, boolean fast) {
    SeedChoice[] exp = new SeedChoice[n];
    if (fast) {
      FastSeedSearch.Result r = new FastSeedSearch(p).search(w, n);
      for (int b = 0; b < n; b++) {
        exp[b] = new SeedChoice(r.seed[b], r.exp[b], java.util.Arrays.copyOfRange(r.q, b * p.p(), b * p.p() + p.p()), r.err[b]);
      }
    } else {
      SeedLmCodec ref = new SeedLmCodec(p);
      for (int b = 0; b < n; b++) exp[b] = ref.searchRef(w, b * p.c());
    }
    v.add(new KernelVectors.Search(name, p, Spec4bOracle.NEAREST, 1, n, null, w, exp));
  }

  /** Version 2 or the `best` rule, from the reference search; null offsets with g > 1: SPEC 4b's reference rule. */
  private static void searchV2(KernelVectors v, String name, SeedLmParams p, CoefficientRule rule, float[] w, int n, int g,
      byte[] off) {
    if (off == null && g > 1) off = KernelVectors.referenceOffsets(w, n, p.c(), g);
    SeedLmCodec codec = new SeedLmCodec(p, rule, off == null ? 0 : g);
    SeedChoice[] exp = new SeedChoice[n];
    final byte[] o = off;
    java.util.stream.IntStream.range(0, n).parallel().forEach(b -> exp[b] = expected(codec, w, b, o == null ? 0 : o[b / g]));
    v.add(new KernelVectors.Search(name, p, ruleCode(rule), g, n, off, w, exp));
  }

  /** The reference search of block b of w in a group of offset og. */
  private static SeedChoice expected(SeedLmCodec codec, float[] w, int b, int og) {
    int c = codec.seedLmParams().c();
    double[] block = new double[c];
    for (int i = 0; i < c; i++) block[i] = w[b * c + i];
    return codec.searchRef(block, 0, og);
  }

  /** The rule's code in the vector file (0 nearest, 1 best). */
  private static int ruleCode(CoefficientRule rule) {
    return rule == CoefficientRule.BEST ? Spec4bOracle.BEST : Spec4bOracle.NEAREST;
  }

  private static int[] widen(byte[] b) {
    int[] out = new int[b.length];
    for (int i = 0; i < b.length; i++) out[i] = b[i];
    return out;
  }

  /** The first {@code count} weights of stories260K's 2-D layer weights, or null when it is absent. */
  static float[] realWeights(int count) throws Exception {
    if (!Files.isDirectory(STORIES)) return null;
    float[] out = new float[count];
    int have = 0;
    try (Checkpoint ck = Checkpoint.open(new org.apache.hadoop.fs.Path(STORIES.toUri()), new Configuration())) {
      for (var e : ck.tensors().entrySet()) {
        TensorInfo info = e.getValue().info();
        if (have == count || info.shape().length != 2 || !e.getKey().contains("layers.")) continue;
        int n = (int) Math.min(count - have, info.numel());
        ck.readFloats(e.getKey(), 0, n, out, have);
        have += n;
      }
    }
    return have == count ? out : java.util.Arrays.copyOf(out, have - have % 8);
  }

  /** deploy/build-cuda harness into the temp dir; skips the test when no compiler exists. */
  private Path buildHarness() throws Exception {
    Path harness = tmp.resolve("harness");
    Path log = tmp.resolve("build.log");
    int rc = run(List.of(REPO.resolve("deploy/build-cuda").toString(), "harness", harness.toString()), log);
    Assumptions.assumeTrue(rc != 3, "no C++ compiler (g++ or nvcc) on PATH: " + read(log).trim());
    assertEquals(0, rc, () -> "deploy/build-cuda harness failed: " + read(log));
    return harness;
  }

  private static int run(List<String> cmd, Path log) throws Exception {
    Process pr = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!pr.waitFor(10, TimeUnit.MINUTES)) {
      pr.destroyForcibly();
      throw new AssertionError("timed out: " + cmd);
    }
    return pr.exitValue();
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
