package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import java.util.Arrays;
import org.seedlm.pipeline.eval.Linear;
import org.seedlm.pipeline.safetensors.CheckpointException;

/**
 * One decoder layer's weights and its forward: RMSNorm, q/k/v (+bias), rotate-half RoPE, causal
 * grouped-query attention over a {@link KvCache}, o_proj, residual, RMSNorm, SwiGLU MLP, residual.
 * Float32 throughout. The layer-streaming evaluator and the generator both run this one forward.
 */
final class LlamaLayer {
  final float[] ln1, ln2;
  final Linear q, k, v, o, gate, up, down;

  private LlamaLayer(float[] ln1, Linear[] attn, float[] ln2, Linear[] mlp) {
    this.ln1 = ln1;
    this.ln2 = ln2;
    q = attn[0]; k = attn[1]; v = attn[2]; o = attn[3];
    gate = mlp[0]; up = mlp[1]; down = mlp[2];
  }

  /** Keys and values of the positions seen so far, for one layer of one sequence. */
  static final class KvCache {
    final float[] keys;
    final float[] values;
    int length;

    KvCache(int capacity, int kvDim) {
      keys = new float[Math.multiplyExact(capacity, kvDim)];
      values = new float[keys.length];
    }

    long bytes() {
      return 8L * keys.length;
    }
  }

  /** The names and {@code [out, in]} shapes of layer {@code i}'s seven projections (q, k, v, o, gate, up, down). */
  static String[] projections(LlamaConfig c, int i) {
    String a = "model.layers." + i + ".self_attn.";
    String m = "model.layers." + i + ".mlp.";
    return new String[] {a + "q_proj", a + "k_proj", a + "v_proj", a + "o_proj", m + "gate_proj", m + "up_proj",
        m + "down_proj"};
  }

  private static int[][] projectionShapes(LlamaConfig c) {
    int h = c.hiddenSize();
    int qd = c.numHeads() * c.headDim();
    int kvd = c.numKvHeads() * c.headDim();
    int f = c.intermediateSize();
    return new int[][] {{qd, h}, {kvd, h}, {kvd, h}, {h, qd}, {f, h}, {f, h}, {h, f}};
  }

  /** Loads layer {@code i}, checking every tensor's shape against the config. */
  static LlamaLayer load(LlamaWeights w, int i) throws IOException {
    LlamaConfig c = w.config();
    int h = c.hiddenSize();
    String p = "model.layers." + i + ".";
    String[] names = projections(c, i);
    int[][] shapes = projectionShapes(c);
    if (Boolean.TRUE.equals(c.attentionBias()) && w.shape(names[0] + ".bias") == null) {
      throw new CheckpointException("tensor '" + names[0] + ".bias' is missing, but config.json sets"
          + " attention_bias true (the checkpoint and config.json do not match)");
    }
    if (c.mlpBias() && w.shape(names[4] + ".bias") == null) {
      throw new CheckpointException("tensor '" + names[4] + ".bias' is missing, but config.json sets"
          + " mlp_bias true (the checkpoint and config.json do not match)");
    }
    Linear[] lin = new Linear[names.length];
    for (int j = 0; j < names.length; j++) {
      int out = shapes[j][0];
      int in = shapes[j][1];
      check(w, names[j] + ".weight", out, in);
      lin[j] = w.linear(names[j] + ".weight", out, in, opt(w, names[j] + ".bias", out));
    }
    return new LlamaLayer(need(w, p + "input_layernorm.weight", h), java.util.Arrays.copyOfRange(lin, 0, 4),
        need(w, p + "post_attention_layernorm.weight", h), java.util.Arrays.copyOfRange(lin, 4, 7));
  }

  /** Bytes of F32 weights of one layer, from the config. */
  static long bytes(LlamaConfig c) {
    long h = c.hiddenSize();
    long qd = (long) c.numHeads() * c.headDim();
    long kvd = (long) c.numKvHeads() * c.headDim();
    return 4 * (2 * h + 2 * h * qd + 2 * h * kvd + 3 * h * c.intermediateSize());
  }

  /** Bytes layer {@code i} holds in memory once loaded from {@code w} (its projections as {@code w} holds them). */
  static long residentBytes(LlamaWeights w, int i) throws IOException {
    LlamaConfig c = w.config();
    long total = 8L * c.hiddenSize(); // the two norms
    for (String name : projections(c, i)) {
      total += w.residentBytes(name + ".weight");
    }
    return total;
  }

  /** Bytes this layer holds. */
  long residentBytes() {
    long total = 4L * (ln1.length + ln2.length);
    for (Linear l : new Linear[] {q, k, v, o, gate, up, down}) {
      total += l.residentBytes();
    }
    return total;
  }

  private static void check(LlamaWeights w, String name, long... shape) throws IOException {
    long[] s = w.shape(name);
    if (s == null) {
      throw new CheckpointException("tensor '" + name + "' is missing (not a complete "
          + w.config().modelType() + " checkpoint)");
    }
    if (!Arrays.equals(s, shape)) {
      throw new CheckpointException("tensor '" + name + "' has shape " + Arrays.toString(s)
          + ", config.json implies " + Arrays.toString(shape));
    }
  }

  static float[] need(LlamaWeights w, String name, long... shape) throws IOException {
    check(w, name, shape);
    return w.read(name);
  }

  private static float[] opt(LlamaWeights w, String name, long... shape) throws IOException {
    return w.shape(name) == null ? null : need(w, name, shape);
  }

  /**
   * Runs {@code t} new positions {@code pos0 ..} of one sequence through this layer, in place on
   * {@code x [t, hidden]}; their keys and values are appended to {@code kv} (which holds positions
   * {@code 0 .. pos0-1}).
   */
  void forward(LlamaConfig c, float[] invFreq, float[] x, int t, int pos0, KvCache kv) {
    int h = c.hiddenSize();
    int hd = c.headDim();
    int nh = c.numHeads();
    int nkv = c.numKvHeads();
    int qd = nh * hd;
    int kvd = nkv * hd;
    if (kv.length != pos0 || kv.keys.length < (pos0 + t) * kvd) {
      throw new IllegalStateException("KV cache holds " + kv.length + " positions, expected " + pos0);
    }
    float[] xn = rmsNorm(x, t, h, ln1, (float) c.rmsNormEps());
    float[] qs = q.apply(xn, t);
    float[] ks = k.apply(xn, t);
    float[] vs = v.apply(xn, t);
    rope(qs, t, nh, hd, pos0, invFreq);
    rope(ks, t, nkv, hd, pos0, invFreq);
    System.arraycopy(ks, 0, kv.keys, pos0 * kvd, t * kvd);
    System.arraycopy(vs, 0, kv.values, pos0 * kvd, t * kvd);
    kv.length = pos0 + t;

    float[] att = new float[t * qd];
    float scale = (float) (1.0 / Math.sqrt(hd));
    int group = nh / nkv;
    int window = c.slidingWindow();
    float[] scores = new float[pos0 + t];
    for (int r = 0; r < t; r++) {
      int pos = pos0 + r;
      int lo = window > 0 ? Math.max(0, pos - window + 1) : 0;
      for (int head = 0; head < nh; head++) {
        int qo = r * qd + head * hd;
        int ko = (head / group) * hd;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = lo; j <= pos; j++) {
          float s = 0f;
          int kj = j * kvd + ko;
          for (int d = 0; d < hd; d++) {
            s += qs[qo + d] * kv.keys[kj + d];
          }
          s *= scale;
          scores[j] = s;
          max = Math.max(max, s);
        }
        float sum = 0f;
        for (int j = lo; j <= pos; j++) {
          scores[j] = (float) Math.exp(scores[j] - max);
          sum += scores[j];
        }
        for (int j = lo; j <= pos; j++) {
          float p = scores[j] / sum;
          int vj = j * kvd + ko;
          for (int d = 0; d < hd; d++) {
            att[qo + d] += p * kv.values[vj + d];
          }
        }
      }
    }
    add(x, o.apply(att, t));

    int f = c.intermediateSize();
    xn = rmsNorm(x, t, h, ln2, (float) c.rmsNormEps());
    float[] g = gate.apply(xn, t);
    float[] u = up.apply(xn, t);
    for (int i = 0; i < g.length; i++) {
      float gi = g[i];
      g[i] = gi / (1f + (float) Math.exp(-gi)) * u[i];
    }
    add(x, down.apply(g, t));
  }

  /** RMSNorm of each row: {@code x / sqrt(mean(x²) + eps) * w}. */
  static float[] rmsNorm(float[] x, int rows, int n, float[] w, float eps) {
    float[] y = new float[rows * n];
    for (int r = 0; r < rows; r++) {
      int b = r * n;
      float ss = 0f;
      for (int i = 0; i < n; i++) {
        ss += x[b + i] * x[b + i];
      }
      float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
      for (int i = 0; i < n; i++) {
        y[b + i] = w[i] * (x[b + i] * inv);
      }
    }
    return y;
  }

  /** Rotate-half RoPE (Hugging Face): dims (i, i + hd/2) rotate by {@code pos * invFreq[i]}. */
  private static void rope(float[] a, int t, int heads, int hd, int pos0, float[] invFreq) {
    int half = hd / 2;
    for (int r = 0; r < t; r++) {
      float pos = pos0 + r;
      for (int i = 0; i < half; i++) {
        float angle = pos * invFreq[i];
        float cos = (float) Math.cos(angle);
        float sin = (float) Math.sin(angle);
        for (int head = 0; head < heads; head++) {
          int b = (r * heads + head) * hd;
          float x1 = a[b + i];
          float x2 = a[b + i + half];
          a[b + i] = x1 * cos - x2 * sin;
          a[b + i + half] = x2 * cos + x1 * sin;
        }
      }
    }
  }

  private static void add(float[] x, float[] d) {
    for (int i = 0; i < x.length; i++) {
      x[i] += d[i];
    }
  }
}
