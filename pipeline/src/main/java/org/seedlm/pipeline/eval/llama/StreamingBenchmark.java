package org.seedlm.pipeline.eval.llama;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * Bounded-memory benchmark of {@link LayerStreamingForward}: writes a random-weight Llama (F32,
 * about 1.1 GB with the defaults) into a directory, then evaluates N sequences with the model as
 * both original and "compressed" (two independent readers, so each layer is loaded twice), and
 * prints the peak heap and the wall time. Run it with an {@code -Xmx} several times smaller than the
 * weights (README: "Llama-family models").
 *
 * <p>Arguments: {@code DIR [layers=24] [hidden=1024] [intermediate=2816] [vocab=8192] [sequences=4]
 * [length=64]}. An existing model in DIR with the same config is reused.
 */
public final class StreamingBenchmark {
  private StreamingBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: StreamingBenchmark DIR [layers] [hidden] [intermediate] [vocab] [sequences] [length]");
      System.exit(2);
    }
    java.nio.file.Path dir = java.nio.file.Path.of(args[0]);
    int layers = arg(args, 1, 24);
    int hidden = arg(args, 2, 1024);
    int inter = arg(args, 3, 2816);
    int vocab = arg(args, 4, 8192);
    int nSeq = arg(args, 5, 4);
    int length = arg(args, 6, 64);
    int heads = Math.max(1, hidden / 64);
    int kvHeads = Math.max(1, heads / 4);
    Map<String, Object> c = configJson(layers, hidden, inter, heads, kvHeads, vocab, Math.max(length, 128));
    c.put("tie_word_embeddings", true);
    c.put("eos_token_id", 2);
    Configuration conf = new Configuration();
    Path modelDir = new Path(dir.toAbsolutePath().toString());
    java.nio.file.Path cfgFile = dir.resolve("config.json");
    ObjectMapper json = new ObjectMapper();
    if (!Files.exists(cfgFile) || !json.readTree(cfgFile.toFile()).equals(json.valueToTree(c))) {
      long t0 = System.nanoTime();
      Files.createDirectories(dir);
      long bytes = writeModel(c, modelDir, conf);
      json.writeValue(cfgFile.toFile(), c);
      System.out.printf("wrote %s: %.2f GB of F32 weights in %.1f s%n", dir, bytes / 1e9, (System.nanoTime() - t0) / 1e9);
    }
    SplittableRandom r = new SplittableRandom(1);
    List<int[]> seqs = new ArrayList<>();
    for (int s = 0; s < nSeq; s++) {
      int[] ids = new int[length];
      ids[0] = 1;
      for (int i = 1; i < length; i++) {
        ids[i] = r.nextInt(vocab);
      }
      seqs.add(ids);
    }
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      p.resetPeakUsage();
    }
    long[] sampled = {0};
    Thread sampler = new Thread(() -> {
      java.lang.management.MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
      while (!Thread.currentThread().isInterrupted()) {
        sampled[0] = Math.max(sampled[0], mem.getHeapMemoryUsage().getUsed());
        try {
          Thread.sleep(2);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    sampler.setDaemon(true);
    sampler.start();
    long t0 = System.nanoTime();
    double[] agree = new double[2];
    try (LlamaWeights a = LlamaWeights.checkpoint(conf, modelDir);
        LlamaWeights b = LlamaWeights.checkpoint(conf, modelDir)) {
      LlamaConfig cfg = a.config();
      System.out.printf("model: %d layers, hidden %d, intermediate %d, vocab %d; %.1f MB of F32 per layer,"
          + " %.2f GB in all; -Xmx %d MB%n", cfg.numLayers(), cfg.hiddenSize(), cfg.intermediateSize(),
          cfg.vocabSize(), LlamaLayer.bytes(cfg) / 1e6,
          (LlamaLayer.bytes(cfg) * cfg.numLayers() + LlamaHead.bytes(cfg)) / 1e9,
          Runtime.getRuntime().maxMemory() >> 20);
      LayerStreamingForward.run(a, b, seqs, (item, o, cmp) -> {
        for (int p = 0; p < o.length; p++) {
          agree[0] += java.util.Arrays.equals(o[p], cmp[p]) ? 1 : 0;
          agree[1]++;
        }
      }, line -> System.out.println("  " + line));
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    sampler.interrupt();
    long peak = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        peak += p.getPeakUsage().getUsed();
      }
    }
    System.out.printf("evaluated %d sequences x %d tokens, original and compressed: %.1f s wall;"
        + " peak heap used %d MB (sampled every 2 ms; garbage included), sum of the heap pools' peaks %d MB"
        + " (an upper bound); identical logits at %.0f/%.0f positions%n", nSeq, length, wall, sampled[0] >> 20,
        peak >> 20, agree[0], agree[1]);
  }

  /** The config.json of a benchmark Llama (BOS 1, no EOS, untied head). */
  static Map<String, Object> configJson(int layers, int hidden, int inter, int heads, int kvHeads, int vocab,
      int maxPositions) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("architectures", List.of("LlamaForCausalLM"));
    c.put("model_type", "llama");
    c.put("hidden_size", hidden);
    c.put("intermediate_size", inter);
    c.put("num_hidden_layers", layers);
    c.put("num_attention_heads", heads);
    c.put("num_key_value_heads", kvHeads);
    c.put("vocab_size", vocab);
    c.put("max_position_embeddings", maxPositions);
    c.put("rms_norm_eps", 1e-5);
    c.put("rope_theta", 10000.0);
    c.put("bos_token_id", 1);
    c.put("eos_token_id", -1);
    return c;
  }

  static int arg(String[] a, int i, int dflt) {
    return a.length > i ? Integer.parseInt(a[i]) : dflt;
  }

  /** Writes model.safetensors of random F32 weights (streamed: nothing is held in memory). */
  private static long writeModel(Map<String, Object> c, Path dir, Configuration conf) throws IOException {
    int h = (Integer) c.get("hidden_size");
    int f = (Integer) c.get("intermediate_size");
    int nh = (Integer) c.get("num_attention_heads");
    int kv = (Integer) c.get("num_key_value_heads");
    int hd = h / nh;
    SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
    long[] seed = {1};
    add(w, "model.embed_tokens.weight", seed, 1.0, (Integer) c.get("vocab_size"), h);
    add(w, "model.norm.weight", seed, -1, h);
    for (int l = 0; l < (Integer) c.get("num_hidden_layers"); l++) {
      String p = "model.layers." + l + ".";
      add(w, p + "input_layernorm.weight", seed, -1, h);
      add(w, p + "post_attention_layernorm.weight", seed, -1, h);
      add(w, p + "self_attn.q_proj.weight", seed, 1 / Math.sqrt(h), nh * hd, h);
      add(w, p + "self_attn.k_proj.weight", seed, 1 / Math.sqrt(h), kv * hd, h);
      add(w, p + "self_attn.v_proj.weight", seed, 1 / Math.sqrt(h), kv * hd, h);
      add(w, p + "self_attn.o_proj.weight", seed, 1 / Math.sqrt(nh * hd), h, nh * hd);
      add(w, p + "mlp.gate_proj.weight", seed, 1 / Math.sqrt(h), f, h);
      add(w, p + "mlp.up_proj.weight", seed, 1 / Math.sqrt(h), f, h);
      add(w, p + "mlp.down_proj.weight", seed, 1 / Math.sqrt(f), h, f);
    }
    return w.write(new Path(dir, "model.safetensors"), conf);
  }

  /** Adds a tensor of uniform random values of the given standard deviation (norm weights: 1 ± 0.1 when scale < 0). */
  private static void add(SafetensorsWriter w, String name, long[] seed, double scale, long... shape) {
    long n = shape.length == 1 ? shape[0] : shape[0] * shape[1];
    long s = seed[0]++;
    w.add(name, DType.F32, shape, (OutputStream out) -> {
      SplittableRandom r = new SplittableRandom(s);
      ByteBuffer bb = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      double a = Math.sqrt(3) * Math.abs(scale);
      for (long i = 0; i < n; i++) {
        if (!bb.hasRemaining()) {
          out.write(bb.array(), 0, bb.position());
          bb.clear();
        }
        float v = (float) (r.nextDouble(-a, a));
        bb.putFloat(scale < 0 ? 1 + 0.1f * v / (float) Math.sqrt(3) : v);
      }
      out.write(bb.array(), 0, bb.position());
    });
  }
}
