package org.seedlm.pipeline.eval.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * Generated random-weight models for what stories260K lacks (untied head, head_dim override, GQA with
 * one kv head, rope_scaling llama3 and linear, Qwen2 q/k/v biases, o/MLP biases, BF16 in two shards,
 * Mistral's sliding window, a packed model), checked against a float64 reference forward written
 * here with plain loops (it shares no code with the implementation).
 */
class LlamaForwardTest {
  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A generated model: its config and its tensors (values as stored, already rounded to the dtype). */
  record Model(Map<String, Object> config, Map<String, float[]> tensors, Map<String, long[]> shapes) {
    int i(String k) {
      return ((Number) config.get(k)).intValue();
    }
  }

  /** Options of a generated model. */
  record Spec(String type, int hidden, int inter, int layers, int heads, int kvHeads, Integer headDim, int vocab,
      boolean tied, boolean qkvBias, boolean oBias, boolean mlpBias, Map<String, Object> ropeScaling,
      Integer slidingWindow, boolean bf16, int shards, long seed) {}

  static Model generate(Spec s) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("architectures", List.of("LlamaForCausalLM"));
    c.put("model_type", s.type());
    c.put("hidden_size", s.hidden());
    c.put("intermediate_size", s.inter());
    c.put("num_hidden_layers", s.layers());
    c.put("num_attention_heads", s.heads());
    c.put("num_key_value_heads", s.kvHeads());
    if (s.headDim() != null) {
      c.put("head_dim", s.headDim());
    }
    c.put("vocab_size", s.vocab());
    c.put("max_position_embeddings", 64);
    c.put("rms_norm_eps", 1e-5);
    c.put("rope_theta", 10000.0);
    c.put("rope_scaling", s.ropeScaling());
    c.put("tie_word_embeddings", s.tied());
    if (!s.type().equals("qwen2")) {
      c.put("attention_bias", s.oBias());
    }
    c.put("mlp_bias", s.mlpBias());
    c.put("sliding_window", s.slidingWindow());
    c.put("bos_token_id", 1);
    c.put("eos_token_id", List.of(2, 3));
    int hd = s.headDim() != null ? s.headDim() : s.hidden() / s.heads();
    Map<String, long[]> shapes = new TreeMap<>();
    shapes.put("model.embed_tokens.weight", new long[] {s.vocab(), s.hidden()});
    shapes.put("model.norm.weight", new long[] {s.hidden()});
    if (!s.tied()) {
      shapes.put("lm_head.weight", new long[] {s.vocab(), s.hidden()});
    }
    for (int l = 0; l < s.layers(); l++) {
      String p = "model.layers." + l + ".";
      shapes.put(p + "input_layernorm.weight", new long[] {s.hidden()});
      shapes.put(p + "post_attention_layernorm.weight", new long[] {s.hidden()});
      shapes.put(p + "self_attn.q_proj.weight", new long[] {s.heads() * hd, s.hidden()});
      shapes.put(p + "self_attn.k_proj.weight", new long[] {s.kvHeads() * hd, s.hidden()});
      shapes.put(p + "self_attn.v_proj.weight", new long[] {s.kvHeads() * hd, s.hidden()});
      shapes.put(p + "self_attn.o_proj.weight", new long[] {s.hidden(), s.heads() * hd});
      if (s.qkvBias()) {
        shapes.put(p + "self_attn.q_proj.bias", new long[] {s.heads() * hd});
        shapes.put(p + "self_attn.k_proj.bias", new long[] {s.kvHeads() * hd});
        shapes.put(p + "self_attn.v_proj.bias", new long[] {s.kvHeads() * hd});
      }
      if (s.oBias()) {
        shapes.put(p + "self_attn.o_proj.bias", new long[] {s.hidden()});
      }
      shapes.put(p + "mlp.gate_proj.weight", new long[] {s.inter(), s.hidden()});
      shapes.put(p + "mlp.up_proj.weight", new long[] {s.inter(), s.hidden()});
      shapes.put(p + "mlp.down_proj.weight", new long[] {s.hidden(), s.inter()});
      if (s.mlpBias()) {
        shapes.put(p + "mlp.gate_proj.bias", new long[] {s.inter()});
        shapes.put(p + "mlp.up_proj.bias", new long[] {s.inter()});
        shapes.put(p + "mlp.down_proj.bias", new long[] {s.hidden()});
      }
    }
    Random r = new Random(s.seed());
    Map<String, float[]> tensors = new TreeMap<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long[] shape = e.getValue();
      int n = (int) (shape.length == 1 ? shape[0] : shape[0] * shape[1]);
      boolean norm = e.getKey().endsWith("norm.weight");
      double scale = e.getKey().contains("embed") ? 1.0 : shape.length == 2 ? 1.0 / Math.sqrt(shape[1]) : 0.1;
      float[] a = new float[n];
      for (int i = 0; i < n; i++) {
        float v = (float) (norm ? 1 + 0.2 * r.nextGaussian() : scale * r.nextGaussian());
        a[i] = s.bf16() ? bf16(v) : v;
      }
      tensors.put(e.getKey(), a);
    }
    return new Model(c, tensors, shapes);
  }

  /** Rounds to the nearest bfloat16 (ties to even). */
  static float bf16(float v) {
    return Float.intBitsToFloat(bf16Bits(v) << 16);
  }

  static int bf16Bits(float v) {
    int b = Float.floatToRawIntBits(v);
    return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }

  /** Writes config.json and the tensors (F32 or BF16, in {@code shards} files with an index when > 1). */
  static void write(Model m, java.nio.file.Path dir, boolean bf16, int shards, Configuration conf) throws IOException {
    Files.createDirectories(dir);
    JSON.writeValue(dir.resolve("config.json").toFile(), m.config());
    SafetensorsWriter[] w = new SafetensorsWriter[shards];
    for (int i = 0; i < shards; i++) {
      w[i] = new SafetensorsWriter().metadata("format", "pt");
    }
    Map<String, String> weightMap = new TreeMap<>();
    int k = 0;
    for (Map.Entry<String, float[]> e : m.tensors().entrySet()) {
      int shard = k++ % shards;
      String file = shards == 1 ? "model.safetensors"
          : String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
      weightMap.put(e.getKey(), file);
      float[] a = e.getValue();
      ByteBuffer bb = ByteBuffer.allocate(a.length * (bf16 ? 2 : 4)).order(ByteOrder.LITTLE_ENDIAN);
      for (float v : a) {
        if (bf16) {
          bb.putShort((short) bf16Bits(v));
        } else {
          bb.putFloat(v);
        }
      }
      w[shard].add(e.getKey(), bf16 ? DType.BF16 : DType.F32, m.shapes().get(e.getKey()), bb.array());
    }
    for (int i = 0; i < shards; i++) {
      String file = shards == 1 ? "model.safetensors"
          : String.format("model-%05d-of-%05d.safetensors", i + 1, shards);
      w[i].write(new Path(dir.resolve(file).toString()), conf);
    }
    if (shards > 1) {
      JSON.writeValue(dir.resolve("model.safetensors.index.json").toFile(),
          Map.of("metadata", Map.of(), "weight_map", weightMap));
    }
  }

  // ---------------------------------------------------------------- float64 reference forward

  @SuppressWarnings("unchecked")
  static double[] refInvFreq(Model m) {
    int hd = m.config().containsKey("head_dim") ? m.i("head_dim") : m.i("hidden_size") / m.i("num_attention_heads");
    double[] inv = new double[hd / 2];
    Map<String, Object> rs = (Map<String, Object>) m.config().get("rope_scaling");
    for (int i = 0; i < inv.length; i++) {
      double f = Math.pow(10000.0, -(2.0 * i) / hd);
      if (rs != null && rs.get("rope_type").equals("linear")) {
        f = f / ((Number) rs.get("factor")).doubleValue();
      } else if (rs != null && rs.get("rope_type").equals("llama3")) {
        double factor = ((Number) rs.get("factor")).doubleValue();
        double lo = ((Number) rs.get("low_freq_factor")).doubleValue();
        double hi = ((Number) rs.get("high_freq_factor")).doubleValue();
        double old = ((Number) rs.get("original_max_position_embeddings")).doubleValue();
        double wl = 2 * Math.PI / f;
        double scaled = wl > old / lo ? f / factor : f;
        double smooth = (old / wl - lo) / (hi - lo);
        boolean medium = !(wl < old / hi) && !(wl > old / lo);
        f = medium ? (1 - smooth) * scaled / factor + smooth * scaled : scaled;
      }
      inv[i] = (float) f; // HF keeps inv_freq in float32
    }
    return inv;
  }

  static double[] lin(double[] x, float[] w, float[] b, int out) {
    int in = x.length;
    double[] y = new double[out];
    for (int o = 0; o < out; o++) {
      double s = b == null ? 0 : b[o];
      for (int i = 0; i < in; i++) {
        s += x[i] * w[o * in + i];
      }
      y[o] = s;
    }
    return y;
  }

  static double[] rms(double[] x, float[] w, double eps) {
    double ss = 0;
    for (double v : x) {
      ss += v * v;
    }
    double inv = 1 / Math.sqrt(ss / x.length + eps);
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = x[i] * inv * w[i];
    }
    return y;
  }

  static void ropeRef(double[] v, int heads, int hd, int pos, double[] inv) {
    for (int h = 0; h < heads; h++) {
      double[] rot = new double[hd];
      for (int d = 0; d < hd; d++) {
        int i = d % (hd / 2);
        double ang = (float) pos * inv[i];
        double rh = d < hd / 2 ? -v[h * hd + d + hd / 2] : v[h * hd + d - hd / 2];
        rot[d] = v[h * hd + d] * Math.cos(ang) + rh * Math.sin(ang);
      }
      System.arraycopy(rot, 0, v, h * hd, hd);
    }
  }

  /** logits[position][vocab] of the whole sequence, in float64. */
  static double[][] reference(Model m, int[] ids) {
    Map<String, float[]> t = m.tensors();
    int h = m.i("hidden_size");
    int nh = m.i("num_attention_heads");
    int nkv = m.i("num_key_value_heads");
    int hd = m.config().containsKey("head_dim") ? m.i("head_dim") : h / nh;
    int f = m.i("intermediate_size");
    int vocab = m.i("vocab_size");
    Object sw = m.config().get("sliding_window");
    int window = sw == null ? Integer.MAX_VALUE : ((Number) sw).intValue();
    double eps = ((Number) m.config().get("rms_norm_eps")).doubleValue();
    double[] inv = refInvFreq(m);
    int n = ids.length;
    double[][] x = new double[n][h];
    float[] emb = t.get("model.embed_tokens.weight");
    for (int p = 0; p < n; p++) {
      for (int i = 0; i < h; i++) {
        x[p][i] = emb[ids[p] * h + i];
      }
    }
    for (int l = 0; l < m.i("num_hidden_layers"); l++) {
      String a = "model.layers." + l + ".self_attn.";
      String mm = "model.layers." + l + ".mlp.";
      double[][] q = new double[n][];
      double[][] k = new double[n][];
      double[][] v = new double[n][];
      for (int p = 0; p < n; p++) {
        double[] xn = rms(x[p], t.get("model.layers." + l + ".input_layernorm.weight"), eps);
        q[p] = lin(xn, t.get(a + "q_proj.weight"), t.get(a + "q_proj.bias"), nh * hd);
        k[p] = lin(xn, t.get(a + "k_proj.weight"), t.get(a + "k_proj.bias"), nkv * hd);
        v[p] = lin(xn, t.get(a + "v_proj.weight"), t.get(a + "v_proj.bias"), nkv * hd);
        ropeRef(q[p], nh, hd, p, inv);
        ropeRef(k[p], nkv, hd, p, inv);
      }
      for (int p = 0; p < n; p++) {
        double[] att = new double[nh * hd];
        for (int hh = 0; hh < nh; hh++) {
          int kh = hh / (nh / nkv);
          double[] sc = new double[p + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j <= p; j++) {
            if (p - j >= window) {
              sc[j] = Double.NEGATIVE_INFINITY;
              continue;
            }
            double s = 0;
            for (int d = 0; d < hd; d++) {
              s += q[p][hh * hd + d] * k[j][kh * hd + d];
            }
            sc[j] = s / Math.sqrt(hd);
            max = Math.max(max, sc[j]);
          }
          double z = 0;
          for (int j = 0; j <= p; j++) {
            sc[j] = Math.exp(sc[j] - max);
            z += sc[j];
          }
          for (int j = 0; j <= p; j++) {
            for (int d = 0; d < hd; d++) {
              att[hh * hd + d] += sc[j] / z * v[j][kh * hd + d];
            }
          }
        }
        double[] o = lin(att, t.get(a + "o_proj.weight"), t.get(a + "o_proj.bias"), h);
        for (int i = 0; i < h; i++) {
          x[p][i] += o[i];
        }
        double[] xn = rms(x[p], t.get("model.layers." + l + ".post_attention_layernorm.weight"), eps);
        double[] g = lin(xn, t.get(mm + "gate_proj.weight"), t.get(mm + "gate_proj.bias"), f);
        double[] u = lin(xn, t.get(mm + "up_proj.weight"), t.get(mm + "up_proj.bias"), f);
        for (int i = 0; i < f; i++) {
          g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        double[] d = lin(g, t.get(mm + "down_proj.weight"), t.get(mm + "down_proj.bias"), h);
        for (int i = 0; i < h; i++) {
          x[p][i] += d[i];
        }
      }
    }
    float[] head = Boolean.TRUE.equals(m.config().get("tie_word_embeddings")) ? emb : t.get("lm_head.weight");
    double[][] logits = new double[n][];
    for (int p = 0; p < n; p++) {
      logits[p] = lin(rms(x[p], t.get("model.norm.weight"), eps), head, null, vocab);
    }
    return logits;
  }

  static int argmax(double[] a) {
    int b = 0;
    for (int i = 1; i < a.length; i++) {
      if (a[i] > a[b]) {
        b = i;
      }
    }
    return b;
  }

  // ---------------------------------------------------------------- checks

  static void assertClose(double[][] ref, float[][] got, String what) {
    assertEquals(ref.length, got.length, what);
    double maxAbs = 1;
    double maxDiff = 0;
    for (int p = 0; p < ref.length; p++) {
      for (int i = 0; i < ref[p].length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(ref[p][i]));
        maxDiff = Math.max(maxDiff, Math.abs(ref[p][i] - got[p][i]));
      }
    }
    assertTrue(maxDiff <= 1e-4 * maxAbs, what + ": max |diff| " + maxDiff + " for max |logit| " + maxAbs);
  }

  static final List<int[]> SEQS = List.of(new int[] {1, 5, 9, 13, 7, 22, 30, 4, 11}, new int[] {1, 40, 2},
      new int[] {1});

  /** Streaming forward (against itself) and greedy generation against the float64 reference. */
  private void check(Spec s) throws IOException {
    Model m = generate(s);
    java.nio.file.Path dir = tmp.resolve(s.type() + s.seed());
    write(m, dir, s.bf16(), s.shards(), conf);
    try (LlamaWeights w = LlamaWeights.checkpoint(conf, new Path(dir.toString()))) {
      List<String> progress = new ArrayList<>();
      LayerStreamingForward.run(w, w, SEQS, (item, o, c) -> {
        assertClose(reference(m, SEQS.get(item)), o, s.type() + " sequence " + item);
        for (int p = 0; p < o.length; p++) {
          assertArrayEquals(o[p], c[p]);
        }
      }, progress::add);
      assertEquals(s.layers(), progress.size());
      try (LlamaGenerator g = LlamaGenerator.open(w, Long.MAX_VALUE)) {
        List<int[]> prompts = List.of(SEQS.get(0), SEQS.get(2));
        List<int[]> out = g.generate(prompts, 6, new Sampler(0, 1, 0), null);
        for (int i = 0; i < prompts.size(); i++) {
          int[] seq = prompts.get(i);
          for (int tok : out.get(i)) {
            double[][] ref = reference(m, seq);
            int want = argmax(ref[ref.length - 1]);
            assertEquals(want, tok, s.type() + " prompt " + i);
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = tok;
            if (tok == 2) {
              break; // EOS (the first of eos_token_id [2, 3])
            }
          }
          assertTrue(out.get(i).length == 6 || out.get(i)[out.get(i).length - 1] == 2);
        }
      }
    }
  }

  @Test
  void untiedHeadLlama3RopeOneKvHeadHeadDim() throws IOException {
    Map<String, Object> rs = new LinkedHashMap<>();
    rs.put("rope_type", "llama3");
    rs.put("factor", 8.0);
    rs.put("low_freq_factor", 1.0);
    rs.put("high_freq_factor", 4.0);
    rs.put("original_max_position_embeddings", 64);
    Spec s = new Spec("llama", 32, 40, 2, 4, 1, 12, 64, false, false, false, false, rs, null, false, 1, 1);
    double[] inv = refInvFreq(generate(s));
    // all three llama3 bands are exercised: unchanged (wavelength < 16), smoothed, divided (> 64)
    assertTrue(2 * Math.PI / inv[0] < 16 && 2 * Math.PI / inv[1] > 16 && 2 * Math.PI / inv[1] < 64 * 8);
    check(s);
  }

  @Test
  void qwen2QkvBiasLinearRopeBf16TwoShards() throws IOException {
    Map<String, Object> rs = new LinkedHashMap<>();
    rs.put("rope_type", "linear");
    rs.put("factor", 2.0);
    check(new Spec("qwen2", 32, 48, 3, 4, 2, null, 64, true, true, false, false, rs, null, true, 2, 2));
  }

  @Test
  void llamaAttentionAndMlpBiases() throws IOException {
    check(new Spec("llama", 24, 36, 2, 3, 3, null, 50, false, true, true, true, null, null, false, 1, 3));
  }

  @Test
  void mistralSlidingWindowShorterThanSequence() throws IOException {
    check(new Spec("mistral", 32, 40, 2, 4, 2, null, 64, false, false, false, false, null, 3, false, 1, 4));
  }

  @Test
  void streamingEqualsGeneratorLogitsWhenLayersAreReRead() throws IOException {
    Spec s = new Spec("llama", 32, 40, 3, 4, 2, null, 64, true, false, false, false, null, null, true, 2, 5);
    Model m = generate(s);
    java.nio.file.Path dir = tmp.resolve("m");
    write(m, dir, true, 2, conf);
    try (LlamaWeights w = LlamaWeights.checkpoint(conf, new Path(dir.toString()));
        LlamaGenerator resident = LlamaGenerator.open(w, Long.MAX_VALUE);
        LlamaGenerator streamed = LlamaGenerator.open(w, 1)) {
      assertTrue(resident.resident());
      assertFalse(streamed.resident());
      List<int[]> a = resident.generate(SEQS, 8, new Sampler(0.8, 0.9, 42), null);
      List<int[]> b = streamed.generate(SEQS, 8, new Sampler(0.8, 0.9, 42), null);
      for (int i = 0; i < SEQS.size(); i++) {
        assertArrayEquals(a.get(i), b.get(i));
      }
    }
  }

  /** Writes model m to DIR/orig and a packed model (FORMAT.md, by hand) of it to DIR/packed with {@code quantized}
   *  encoded by {@code codecName}. */
  private void writePacked(Model m, java.nio.file.Path dir, java.nio.file.Path packedDir, String codecName,
      List<String> quantized) throws IOException {
    write(m, dir, false, 1, conf);
    BlockCodec codec = Codecs.parse(codecName);
    if (codec instanceof org.seedlm.pipeline.codec.SeedLmCodec seedLm) { // the fast search: the same codes, sooner
      codec = new org.seedlm.pipeline.kernel.FastSeedLmCodec(seedLm.seedLmParams());
    }
    SafetensorsWriter pw = new SafetensorsWriter().metadata(PackedFormat.KEY_FORMAT, PackedFormat.FORMAT_NAME)
        .metadata(PackedFormat.KEY_VERSION, Integer.toString(PackedFormat.VERSION));
    for (Map.Entry<String, float[]> e : m.tensors().entrySet()) {
      if (!quantized.contains(e.getKey())) {
        pw.addF32(e.getKey(), m.shapes().get(e.getKey()), e.getValue());
        continue;
      }
      float[] a = e.getValue();
      int blocks = (a.length + codec.blockSize() - 1) / codec.blockSize();
      byte[] enc = new byte[(int) codec.packedBytes(blocks)];
      codec.encode(java.util.Arrays.copyOf(a, blocks * codec.blockSize()), 0, blocks, enc, 0);
      PackedFormat.TensorMeta meta = new PackedFormat.TensorMeta(codec.name(), codec.params(), codec.blockSize(),
          codec.bitsPerBlock(), blocks, m.shapes().get(e.getKey()), "F32", 0);
      pw.metadata(PackedFormat.KEY_TENSOR_PREFIX + e.getKey(), meta.toJson());
      pw.add(e.getKey() + PackedFormat.PACKED_SUFFIX, DType.U8, new long[] {enc.length}, enc);
    }
    Files.createDirectories(packedDir);
    pw.write(new Path(packedDir.resolve("model.safetensors").toString()), conf);
  }

  /** Quantizes two tensors into a packed model by hand (FORMAT.md) and evaluates it against the original. */
  @Test
  void packedModelDecodesQuantizedTensorsAndKeepsTheRest() throws IOException {
    Spec s = new Spec("llama", 32, 40, 2, 4, 2, null, 64, false, false, false, false, null, null, false, 1, 6);
    Model m = generate(s);
    java.nio.file.Path dir = tmp.resolve("orig");
    java.nio.file.Path packedDir = tmp.resolve("packed");
    List<String> quantized = List.of("model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight");
    writePacked(m, dir, packedDir, "rtn-sym-b4-g128", quantized);

    Map<String, float[]> decoded = new TreeMap<>(m.tensors());
    try (PackedModel pm = PackedModel.open(new Path(packedDir.toString()), conf)) {
      for (String q : quantized) {
        decoded.put(q, pm.decode(q));
      }
    }
    Model dm = new Model(m.config(), decoded, m.shapes());
    try (LlamaWeights o = LlamaWeights.checkpoint(conf, new Path(dir.toString()));
        LlamaWeights c = LlamaWeights.packed(conf, new Path(dir.toString()), new Path(packedDir.toString()))) {
      for (String q : quantized) {
        assertArrayEquals(decoded.get(q), c.read(q));
        assertArrayEquals(m.shapes().get(q), c.shape(q));
        assertNotEquals(java.util.Arrays.toString(m.tensors().get(q)), java.util.Arrays.toString(c.read(q)));
      }
      assertArrayEquals(m.tensors().get("lm_head.weight"), c.read("lm_head.weight"));
      LayerStreamingForward.run(o, c, SEQS, (item, lo, lc) -> {
        assertClose(reference(m, SEQS.get(item)), lo, "original " + item);
        assertClose(reference(dm, SEQS.get(item)), lc, "compressed " + item);
      }, null);
    }
  }

  /**
   * SeedLM projections kept packed in memory (the fused decode x matmul kernel) give the same logits, bit for
   * bit, and the same greedy tokens as the same packed model decoded to floats, holding fewer bytes.
   */
  @Test
  void fusedSeedLmProjectionsGiveTheBitsOfTheDecodedModel() throws IOException {
    // hidden and intermediate 128: every projection row is whole steps of the fused matrix-vector kernel
    Spec s = new Spec("llama", 128, 128, 2, 4, 2, null, 64, false, false, false, false, null, null, false, 1, 9);
    Model m = generate(s);
    java.nio.file.Path dir = tmp.resolve("orig-fused");
    java.nio.file.Path packedDir = tmp.resolve("packed-fused");
    List<String> quantized = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      for (String n : LlamaLayer.projections(LlamaConfig.parse("test", JSON.valueToTree(m.config())), i)) {
        quantized.add(n + ".weight");
      }
    }
    writePacked(m, dir, packedDir, "seedlm-4bit", quantized);
    Path d = new Path(dir.toString());
    Path pd = new Path(packedDir.toString());
    try (LlamaWeights decoded = LlamaWeights.packed(conf, d, pd, false);
        LlamaWeights fused = LlamaWeights.packed(conf, d, pd, true)) {
      List<float[][]> a = new ArrayList<>();
      LayerStreamingForward.run(decoded, null, SEQS, (item, lo, lc) -> a.add(lo), null);
      LayerStreamingForward.run(fused, null, SEQS, (item, lo, lc) -> {
        for (int pos = 0; pos < lo.length; pos++) {
          assertArrayEquals(a.get(item)[pos], lo[pos], "sequence " + item + " position " + pos);
        }
      }, null);
      LlamaGenerator gd = LlamaGenerator.open(decoded, Long.MAX_VALUE);
      LlamaGenerator gf = LlamaGenerator.open(fused, Long.MAX_VALUE);
      List<int[]> prompts = List.of(SEQS.get(0));
      assertArrayEquals(gd.generate(prompts, 12, new Sampler(0, 1, 1), null).get(0),
          gf.generate(prompts, 12, new Sampler(0, 1, 1), null).get(0));
      // 14 projections of 512 to 1280 weights: 4 bits instead of 32 each
      assertTrue(gf.residentBytes() < gd.residentBytes(), gf.residentBytes() + " vs " + gd.residentBytes());
      long projections = 0;
      for (String q : quantized) {
        projections += decoded.residentBytes(q) - fused.residentBytes(q);
        assertEquals(decoded.residentBytes(q), 8 * fused.residentBytes(q), q);
      }
      assertEquals(projections, gd.residentBytes() - gf.residentBytes());
    }
  }

  private void writeConfig(java.nio.file.Path dir, Map<String, Object> c) throws IOException {
    Files.createDirectories(dir);
    JSON.writeValue(dir.resolve("config.json").toFile(), c);
  }

  @Test
  void unsupportedModelTypeIsNamed() throws IOException {
    java.nio.file.Path dir = tmp.resolve("phi");
    Map<String, Object> c = new LinkedHashMap<>(generate(
        new Spec("llama", 8, 8, 1, 2, 2, null, 8, true, false, false, false, null, null, false, 1, 7)).config());
    c.put("model_type", "phi");
    c.put("architectures", List.of("PhiForCausalLM"));
    writeConfig(dir, c);
    Path p = new Path(dir.toString());
    assertTrue(LlamaConfig.isCausalLm(conf, p));
    BadInputException e = assertThrows(BadInputException.class, () -> LlamaConfig.read(conf, p));
    assertTrue(e.getMessage().contains("cannot evaluate model_type phi"), e.getMessage());
    assertTrue(e.getMessage().contains("supported are llama, mistral, qwen2"), e.getMessage());

    java.nio.file.Path bert = tmp.resolve("bert");
    writeConfig(bert, Map.of("model_type", "bert", "architectures", List.of("BertForMaskedLM")));
    assertFalse(LlamaConfig.isCausalLm(conf, new Path(bert.toString())));
    assertFalse(LlamaConfig.isCausalLm(conf, new Path(tmp.resolve("nothing").toString())));
  }

  @Test
  void unsupportedRopeScalingIsNamed() throws IOException {
    java.nio.file.Path dir = tmp.resolve("yarn");
    Map<String, Object> c = new LinkedHashMap<>(generate(
        new Spec("llama", 8, 8, 1, 2, 2, null, 8, true, false, false, false, null, null, false, 1, 8)).config());
    c.put("rope_scaling", Map.of("rope_type", "yarn", "factor", 4.0));
    writeConfig(dir, c);
    BadInputException e = assertThrows(BadInputException.class, () -> LlamaConfig.read(conf, new Path(dir.toString())));
    assertTrue(e.getMessage().contains("'yarn'"), e.getMessage());
  }

  @Test
  void eosListTakesTheFirstAndSamplerIsSeeded() {
    LlamaConfig c = LlamaConfig.parse("test", JSON.valueToTree(generate(
        new Spec("mistral", 8, 8, 1, 2, 2, null, 8, true, false, false, false, null, null, false, 1, 9)).config()));
    assertEquals(2, c.eosTokenId());
    assertEquals(1, c.bosTokenId());
    float[] logits = {0.5f, 2f, 2f, -1f};
    assertEquals(1, new Sampler(0, 1, 0).next(logits), "greedy takes the lowest id on a tie");
    // top-p 0.5 keeps only the two tied best tokens (each ~0.4 of the mass)
    Sampler sp = new Sampler(1, 0.5, 7);
    int[] counts = new int[4];
    for (int i = 0; i < 2000; i++) {
      counts[sp.next(logits)]++;
    }
    assertEquals(0, counts[0] + counts[3]);
    assertTrue(counts[1] > 800 && counts[2] > 800, java.util.Arrays.toString(counts));
    Sampler a = new Sampler(0.7, 0.95, 11);
    Sampler b = new Sampler(0.7, 0.95, 11);
    for (int i = 0; i < 50; i++) {
      assertEquals(a.next(logits), b.next(logits));
    }
  }
}
