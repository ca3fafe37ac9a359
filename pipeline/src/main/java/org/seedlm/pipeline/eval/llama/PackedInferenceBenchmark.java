package org.seedlm.pipeline.eval.llama;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Function;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.decode.SeedLmDecoder;
import org.seedlm.pipeline.decode.SeedLmLinear;
import org.seedlm.pipeline.eval.Bf16Linear;
import org.seedlm.pipeline.eval.Linear;

/**
 * Inference from a packed model against the same model in float32 and in bfloat16: a Llama-shaped model
 * (TinyLlama-1.1B's shape by default: hidden 2048, intermediate 5632, 22 layers, 32 heads, 4 KV heads,
 * vocab 32000) whose seven projections per layer carry valid random SeedLM codes (the kernel's speed does
 * not depend on how codes were found), built in memory. The float32 model is those codes decoded; the
 * bfloat16 model is the float32 one rounded. Embedding, norms and head are float32 in all three, as the
 * pipeline keeps them. For each: generation tokens/s (one sequence, a KV cache, greedy) and prompt tokens/s
 * (one prompt), best of two runs, on 1 thread and on all cores, the weight bytes held, and for the packed model the packed
 * bytes read per second against {@code System.arraycopy}'s bandwidth measured in the same run.
 *
 * <p>Arguments: {@code [layers=22] [hidden=2048] [intermediate=5632] [vocab=32000] [tokens=8] [prompt=64]}.
 * Needs about 6 GB of heap with the defaults ({@code -Xmx8g}).
 */
public final class PackedInferenceBenchmark {
  private PackedInferenceBenchmark() {}

  /** Valid random SeedLM codes for {@code blocks} blocks: seeds in [1, 2^K - 1], every e and q. */
  public static byte[] randomCodes(SeedLmParams params, long blocks, long seed) {
    SeedLmCodec codec = new SeedLmCodec(params);
    Random r = new Random(seed);
    byte[] packed = new byte[Math.toIntExact((blocks * params.bitsPerBlock() + 7) / 8)];
    int[] q = new int[params.p()];
    for (long b = 0; b < blocks; b++) {
      for (int j = 0; j < q.length; j++) {
        q[j] = r.nextInt(16) - 8;
      }
      // the exponents of trained weights are small: mostly e in [-8, -3], some larger
      int e = r.nextInt(10) == 0 ? r.nextInt(16) - 8 : -8 + r.nextInt(6);
      codec.writeBlock(packed, b * params.bitsPerBlock(), 1 + r.nextInt((1 << params.k()) - 1), e, q);
    }
    return packed;
  }

  /** The weights of the benchmark model: the projections as given, everything else float32 in memory. */
  private record MemoryWeights(LlamaConfig config, Map<String, Linear> projections, Map<String, float[]> floats,
      Map<String, long[]> shapes) implements LlamaWeights {
    @Override
    public long[] shape(String name) {
      return shapes.get(name);
    }

    @Override
    public float[] read(String name) {
      return floats.get(name);
    }

    @Override
    public void readRows(String name, long row, int rows, int cols, float[] dst, int off) {
      System.arraycopy(floats.get(name), Math.toIntExact(row * cols), dst, off, rows * cols);
    }

    @Override
    public Linear linear(String name, int out, int in, float[] bias) {
      return projections.get(name);
    }

    @Override
    public long residentBytes(String name) {
      return projections.get(name).residentBytes();
    }

    @Override
    public void close() {}
  }

  public static void main(String[] args) throws Exception {
    int layers = StreamingBenchmark.arg(args, 0, 22);
    int hidden = StreamingBenchmark.arg(args, 1, 2048);
    int inter = StreamingBenchmark.arg(args, 2, 5632);
    int vocab = StreamingBenchmark.arg(args, 3, 32000);
    int tokens = StreamingBenchmark.arg(args, 4, 8);
    int prompt = StreamingBenchmark.arg(args, 5, 64);
    int heads = Math.max(1, hidden / 64);
    int kvHeads = Math.max(1, heads / 8);
    Map<String, Object> c = StreamingBenchmark.configJson(layers, hidden, inter, heads, kvHeads, vocab,
        Math.max(256, prompt + tokens + 2));
    LlamaConfig config = LlamaConfig.parse("benchmark", new ObjectMapper().valueToTree(c));
    SeedLmParams params = SeedLmParams.FOUR_BIT;
    int cores = Runtime.getRuntime().availableProcessors();

    long t0 = System.nanoTime();
    Map<String, float[]> floats = new HashMap<>();
    Map<String, long[]> shapes = new HashMap<>();
    Random r = new Random(7);
    float[] embed = new float[vocab * hidden];
    for (int i = 0; i < embed.length; i++) {
      embed[i] = (float) (0.02 * r.nextGaussian());
    }
    put(floats, shapes, LlamaHead.EMBED, embed, vocab, hidden);
    put(floats, shapes, LlamaHead.LM_HEAD, embed.clone(), vocab, hidden);
    put(floats, shapes, LlamaHead.NORM, ones(hidden), hidden);
    Map<String, byte[]> codes = new HashMap<>();
    Map<String, int[]> dims = new HashMap<>();
    int[][] projShapes = {{heads * 64, hidden}, {kvHeads * 64, hidden}, {kvHeads * 64, hidden},
        {hidden, heads * 64}, {inter, hidden}, {inter, hidden}, {hidden, inter}};
    long weights = 0;
    for (int i = 0; i < layers; i++) {
      put(floats, shapes, "model.layers." + i + ".input_layernorm.weight", ones(hidden), hidden);
      put(floats, shapes, "model.layers." + i + ".post_attention_layernorm.weight", ones(hidden), hidden);
      String[] names = LlamaLayer.projections(config, i);
      for (int j = 0; j < names.length; j++) {
        String n = names[j] + ".weight";
        int out = projShapes[j][0];
        int in = projShapes[j][1];
        shapes.put(n, new long[] {out, in});
        dims.put(n, new int[] {out, in});
        codes.put(n, randomCodes(params, (long) out * in / params.c(), 1000L * i + j));
        weights += (long) out * in;
      }
    }
    System.out.printf(Locale.ROOT, "model: %d layers, hidden %d, intermediate %d, %d/%d heads, vocab %d: %,d projection"
            + " weights (+ %,d in embedding and head, float32 in every variant); built in %.1f s; %d cores%n", layers,
        hidden, inter, heads, kvHeads, vocab, weights, 2L * vocab * hidden, (System.nanoTime() - t0) / 1e9, cores);
    double[] memcpy = {memcpyGbps(1), memcpyGbps(cores)};
    System.out.printf(Locale.ROOT, "memcpy (System.arraycopy of 256 MiB): %.2f GB/s on 1 thread, %.2f GB/s on %d%n",
        memcpy[0], memcpy[1], cores);

    SeedLmDecoder decoder = SeedLmDecoder.of(params);
    Function<String, float[]> decode = n -> {
      int[] d = dims.get(n);
      long blocks = (long) d[0] * d[1] / params.c();
      return decoder.decodeTensor(codes.get(n), blocks, (long) d[0] * d[1]);
    };
    String[] variants = {"seedlm-4bit packed", "float32", "bfloat16"};
    double[][] genRate = new double[3][2];
    for (int v = 0; v < variants.length; v++) {
      Map<String, Linear> proj = new HashMap<>();
      for (String n : codes.keySet()) {
        int[] d = dims.get(n);
        proj.put(n, switch (v) {
          case 0 -> new SeedLmLinear(params, codes.get(n), d[0], d[1], null);
          case 1 -> Linear.dense(decode.apply(n), d[0], d[1], null);
          default -> {
            float[] f = decode.apply(n);
            short[] b = new short[f.length];
            for (int k = 0; k < f.length; k++) {
              b[k] = Bf16Linear.toBf16(f[k]);
            }
            yield new Bf16Linear(b, d[0], d[1], null);
          }
        });
      }
      MemoryWeights w = new MemoryWeights(config, proj, floats, shapes);
      long held = 0;
      for (Linear l : proj.values()) {
        held += l.residentBytes();
      }
      System.out.printf(Locale.ROOT, "%n== %s: projection weights held %,d bytes (%.2f bits/weight)%n", variants[v],
          held, 8.0 * held / weights);
      int[] threadCounts = cores > 1 ? new int[] {1, cores} : new int[] {1};
      for (int t = 0; t < threadCounts.length; t++) {
        int threads = threadCounts[t];
        ForkJoinPool pool = new ForkJoinPool(threads);
        double gen = Double.POSITIVE_INFINITY;
        double pre = Double.POSITIVE_INFINITY;
        for (int rep = 0; rep < 2; rep++) { // best of two: the first also warms the JIT up
          gen = Math.min(gen, inPool(pool, () -> generationSeconds(w, tokens)) / tokens);
          pre = Math.min(pre, inPool(pool, () -> promptSeconds(w, prompt)));
        }
        pool.shutdown();
        genRate[v][t] = 1 / gen;
        String extra = v == 0 ? String.format(Locale.ROOT, "; packed weights read at %.2f GB/s = %.2f of memcpy",
            held / gen / 1e9, held / gen / 1e9 / memcpy[t]) : String.format(Locale.ROOT, "; weights read at %.2f"
            + " GB/s = %.2f of memcpy", held / gen / 1e9, held / gen / 1e9 / memcpy[t]);
        System.out.printf(Locale.ROOT, "%d thread(s): generation %.2f tokens/s, prompt %.1f tokens/s%s%n", threads,
            1 / gen, prompt / pre, extra);
      }
      proj.clear();
    }
    System.out.printf(Locale.ROOT, "%ngeneration, packed vs float32: x%.2f on 1 thread, x%.2f on all cores; packed vs"
            + " bfloat16: x%.2f, x%.2f%n", genRate[0][0] / genRate[1][0], genRate[0][1] / genRate[1][1],
        genRate[0][0] / genRate[2][0], genRate[0][1] / genRate[2][1]);
  }

  /** Seconds for {@code tokens} greedy tokens after a one-token prompt (one warm-up token first). */
  private static double generationSeconds(LlamaWeights w, int tokens) throws IOException {
    LlamaGenerator g = LlamaGenerator.open(w, Long.MAX_VALUE);
    g.generate(List.of(new int[] {1}), 1, new Sampler(0, 1, 1), null);
    long t0 = System.nanoTime();
    int[] out = g.generate(List.of(new int[] {1}), tokens, new Sampler(0, 1, 1), null).get(0);
    if (out.length != tokens) {
      throw new IllegalStateException("generated " + out.length + " tokens, expected " + tokens);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  /** Seconds to process a prompt of {@code n} tokens (and produce one token). */
  private static double promptSeconds(LlamaWeights w, int n) throws IOException {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = 1 + (i * 7919) % (w.config().vocabSize() - 1);
    }
    LlamaGenerator g = LlamaGenerator.open(w, Long.MAX_VALUE);
    long t0 = System.nanoTime();
    g.generate(List.of(p), 1, new Sampler(0, 1, 1), null);
    return (System.nanoTime() - t0) / 1e9;
  }

  private static <T> T inPool(ForkJoinPool pool, Callable<T> work) throws Exception {
    return pool.submit(work).get();
  }

  /** System.arraycopy bandwidth (bytes copied per second, GB/s; best of 4) on {@code threads} threads. */
  private static double memcpyGbps(int threads) throws Exception {
    int n = 64 << 20; // floats: 256 MiB
    float[] a = new float[n];
    float[] b = new float[n];
    java.util.Arrays.fill(a, 1f);
    ForkJoinPool pool = new ForkJoinPool(threads);
    double best = 0;
    for (int rep = 0; rep < 4; rep++) {
      long t0 = System.nanoTime();
      pool.submit(() -> java.util.stream.IntStream.range(0, threads).parallel().forEach(t -> {
        int from = (int) ((long) n * t / threads);
        int to = (int) ((long) n * (t + 1) / threads);
        System.arraycopy(a, from, b, from, to - from);
      })).get();
      best = Math.max(best, 4.0 * n / ((System.nanoTime() - t0) / 1e9) / 1e9);
    }
    pool.shutdown();
    return best;
  }

  private static void put(Map<String, float[]> f, Map<String, long[]> s, String name, float[] v, long... shape) {
    f.put(name, v);
    s.put(name, shape);
  }

  private static float[] ones(int n) {
    float[] a = new float[n];
    java.util.Arrays.fill(a, 1f);
    return a;
  }
}
