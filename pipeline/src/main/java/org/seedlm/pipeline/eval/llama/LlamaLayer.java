package org.seedlm.pipeline.eval.llama;

import java.io.IOException;
import java.util.Arrays;
import org.seedlm.pipeline.eval.MatMul;
import org.seedlm.pipeline.safetensors.CheckpointException;

/**
 * One decoder layer's weights and its forward: RMSNorm, q/k/v (+bias), rotate-half RoPE, causal
 * grouped-query attention over a {@link KvCache}, o_proj, residual, RMSNorm, SwiGLU MLP, residual.
 * Float32 throughout. The layer-streaming evaluator and the generator both run this one forward.
 */
final class LlamaLayer {
  final float[] ln1, q, qb, k, kb, v, vb, o, ob, ln2, gate, gateB, up, upB, down, downB;

  private LlamaLayer(float[][] t) {
    ln1 = t[0]; q = t[1]; qb = t[2]; k = t[3]; kb = t[4]; v = t[5]; vb = t[6]; o = t[7]; ob = t[8];
    ln2 = t[9]; gate = t[10]; gateB = t[11]; up = t[12]; upB = t[13]; down = t[14]; downB = t[15];
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

  /** Loads layer {@code i}, checking every tensor's shape against the config. */
  static LlamaLayer load(LlamaWeights w, int i) throws IOException {
    LlamaConfig c = w.config();
    int h = c.hiddenSize();
    int qd = c.numHeads() * c.headDim();
    int kvd = c.numKvHeads() * c.headDim();
    int f = c.intermediateSize();
    String p = "model.layers." + i + ".";
    String a = p + "self_attn.";
    String m = p + "mlp.";
    boolean attnBias = w.shape(a + "q_proj.bias") != null;
    if (Boolean.TRUE.equals(c.attentionBias()) && !attnBias) {
      throw new CheckpointException("tensor '" + a + "q_proj.bias' is missing, but config.json sets"
          + " attention_bias true (the checkpoint and config.json do not match)");
    }
    float[][] t = {
        need(w, p + "input_layernorm.weight", h),
        need(w, a + "q_proj.weight", qd, h), opt(w, a + "q_proj.bias", qd),
        need(w, a + "k_proj.weight", kvd, h), opt(w, a + "k_proj.bias", kvd),
        need(w, a + "v_proj.weight", kvd, h), opt(w, a + "v_proj.bias", kvd),
        need(w, a + "o_proj.weight", h, qd), opt(w, a + "o_proj.bias", h),
        need(w, p + "post_attention_layernorm.weight", h),
        need(w, m + "gate_proj.weight", f, h), opt(w, m + "gate_proj.bias", f),
        need(w, m + "up_proj.weight", f, h), opt(w, m + "up_proj.bias", f),
        need(w, m + "down_proj.weight", h, f), opt(w, m + "down_proj.bias", h),
    };
    if (c.mlpBias() && t[11] == null) {
      throw new CheckpointException("tensor '" + m + "gate_proj.bias' is missing, but config.json sets"
          + " mlp_bias true (the checkpoint and config.json do not match)");
    }
    return new LlamaLayer(t);
  }

  /** Bytes of F32 weights of one layer, from the config. */
  static long bytes(LlamaConfig c) {
    long h = c.hiddenSize();
    long qd = (long) c.numHeads() * c.headDim();
    long kvd = (long) c.numKvHeads() * c.headDim();
    return 4 * (2 * h + 2 * h * qd + 2 * h * kvd + 3 * h * c.intermediateSize());
  }

  static float[] need(LlamaWeights w, String name, long... shape) throws IOException {
    long[] s = w.shape(name);
    if (s == null) {
      throw new CheckpointException("tensor '" + name + "' is missing (not a complete "
          + w.config().modelType() + " checkpoint)");
    }
    if (!Arrays.equals(s, shape)) {
      throw new CheckpointException("tensor '" + name + "' has shape " + Arrays.toString(s)
          + ", config.json implies " + Arrays.toString(shape));
    }
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
    float[] qs = MatMul.linear(xn, t, h, q, qd, qb);
    float[] ks = MatMul.linear(xn, t, h, k, kvd, kb);
    float[] vs = MatMul.linear(xn, t, h, v, kvd, vb);
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
    add(x, MatMul.linear(att, t, qd, o, h, ob));

    int f = c.intermediateSize();
    xn = rmsNorm(x, t, h, ln2, (float) c.rmsNormEps());
    float[] g = MatMul.linear(xn, t, h, gate, f, gateB);
    float[] u = MatMul.linear(xn, t, h, up, f, upB);
    for (int i = 0; i < g.length; i++) {
      float gi = g[i];
      g[i] = gi / (1f + (float) Math.exp(-gi)) * u[i];
    }
    add(x, MatMul.linear(g, t, f, down, h, downB));
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
