package org.seedlm.pipeline.eval;

import org.seedlm.pipeline.BadInputException;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.pack.PackedFormat.TensorMeta;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.CheckpointException;

/**
 * BERT (post-LayerNorm encoder, learned absolute positions, token type 0) with its masked-LM head
 * ({@code cls.predictions.transform.*}, decoder tied to the word embeddings, {@code cls.predictions.bias}),
 * in plain Java. Weights use the Hugging Face {@code BertForMaskedLM} names, dense weights [out, in].
 *
 * <p>Load from a safetensors checkpoint ({@link #load(Checkpoint)}) or from a packed model
 * ({@link #load(PackedModel)}: quantized tensors are decoded with the reference decoder, kept tensors
 * read as they are). GELU is the tanh approximation used by Google's BERT (the erf form is available
 * for comparison). One sequence per call, no padding; logits are computed only at the requested
 * positions, which keeps the 30522-way decoder off the other tokens.
 */
public final class BertModel {
  /** GELU variants. */
  public enum Gelu {
    TANH, ERF;

    /**
     * The variant named by config.json's {@code hidden_act}, as Hugging Face reads it: {@code gelu} is
     * the exact erf form; {@code gelu_new}, {@code gelu_pytorch_tanh} and {@code gelu_fast} the tanh
     * approximation (Google's original BERT code).
     */
    public static Gelu forHiddenAct(String act) {
      return switch (act) {
        case "gelu" -> ERF;
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> TANH;
        default -> throw new BadInputException("Cannot evaluate BERT: config.json hidden_act \"" + act
            + "\" is not supported (expected gelu, gelu_new, gelu_pytorch_tanh or gelu_fast)");
      };
    }
  }

  private final int hidden;
  private final int heads;
  private final int layers;
  private final int ffn;
  private final int vocab;
  private final int maxPos;
  private final float eps;
  private final float[] wordEmb;
  private final float[] posEmb;
  private final float[] typeEmb;
  private final float[] embLnW;
  private final float[] embLnB;
  private final Layer[] layer;
  private final float[] tW;
  private final float[] tB;
  private final float[] tLnW;
  private final float[] tLnB;
  private final float[] outBias;
  private Gelu gelu;

  private record Layer(float[] qW, float[] qB, float[] kW, float[] kB, float[] vW, float[] vB, float[] oW,
      float[] oB, float[] ln1W, float[] ln1B, float[] iW, float[] iB, float[] fW, float[] fB, float[] ln2W,
      float[] ln2B) {}

  /** Where weights come from. */
  public interface Weights {
    /** The tensor's shape, or null when absent. */
    long[] shape(String name) throws IOException;

    /** The whole tensor as F32, row-major. */
    float[] read(String name) throws IOException;

    /** config.json value, or the default. */
    default int configInt(String key, int dflt) throws IOException {
      return dflt;
    }

    /** config.json text value, or the default. */
    default String configText(String key, String dflt) throws IOException {
      return dflt;
    }
  }

  /** Weights of a safetensors checkpoint. */
  public static Weights weights(Checkpoint ck) {
    return new Weights() {
      @Override
      public long[] shape(String name) {
        return ck.tensors().containsKey(name) ? ck.tensors().get(name).info().shape() : null;
      }

      @Override
      public float[] read(String name) throws IOException {
        long n = ck.info(name).numel();
        float[] a = new float[Math.toIntExact(n)];
        ck.readFloats(name, 0, a.length, a, 0);
        return a;
      }

      @Override
      public int configInt(String key, int dflt) throws IOException {
        return ck.config().path(key).asInt(dflt);
      }

      @Override
      public String configText(String key, String dflt) throws IOException {
        return ck.config().path(key).asText(dflt);
      }
    };
  }

  /** Weights of a packed model: decoded quantized tensors plus the kept tensors. */
  public static Weights weights(PackedModel pm) {
    Weights kept = weights(pm.checkpoint());
    return new Weights() {
      @Override
      public long[] shape(String name) throws IOException {
        TensorMeta m = pm.quantized().get(name);
        return m != null ? m.shape() : kept.shape(name);
      }

      @Override
      public float[] read(String name) throws IOException {
        return pm.quantized().containsKey(name) ? pm.decode(name) : kept.read(name);
      }

      @Override
      public int configInt(String key, int dflt) throws IOException {
        return kept.configInt(key, dflt);
      }

      @Override
      public String configText(String key, String dflt) throws IOException {
        return kept.configText(key, dflt);
      }
    };
  }

  public static BertModel load(Checkpoint ck) throws IOException {
    return new BertModel(weights(ck));
  }

  public static BertModel load(PackedModel pm) throws IOException {
    return new BertModel(weights(pm));
  }

  /** Opens a checkpoint directory or file and loads it. */
  public static BertModel loadCheckpoint(Path location, Configuration conf) throws IOException {
    try (Checkpoint ck = Checkpoint.open(location, conf)) {
      return load(ck);
    }
  }

  /** Opens a packed model directory and loads it (decoding the quantized tensors). */
  public static BertModel loadPacked(Path dir, Configuration conf) throws IOException {
    try (PackedModel pm = PackedModel.open(dir, conf)) {
      return load(pm);
    }
  }

  public BertModel(Weights w) throws IOException {
    long[] we = need(w, "bert.embeddings.word_embeddings.weight", 2);
    vocab = Math.toIntExact(we[0]);
    hidden = Math.toIntExact(we[1]);
    maxPos = Math.toIntExact(need(w, "bert.embeddings.position_embeddings.weight", 2)[0]);
    heads = w.configInt("num_attention_heads", Math.max(1, hidden / 64));
    if (hidden % heads != 0) {
      throw new BadInputException("cannot evaluate this BERT: hidden size " + hidden + " is not a multiple of "
          + "num_attention_heads " + heads + " (check config.json)");
    }
    eps = (float) 1e-12;
    gelu = Gelu.forHiddenAct(w.configText("hidden_act", "gelu"));
    int n = 0;
    while (w.shape("bert.encoder.layer." + n + ".attention.self.query.weight") != null) {
      n++;
    }
    if (n == 0) {
      throw new CheckpointException("not a BERT checkpoint: no bert.encoder.layer.0.* tensors");
    }
    layers = n;
    ffn = Math.toIntExact(need(w, "bert.encoder.layer.0.intermediate.dense.weight", 2)[0]);
    wordEmb = w.read("bert.embeddings.word_embeddings.weight");
    posEmb = w.read("bert.embeddings.position_embeddings.weight");
    typeEmb = w.read("bert.embeddings.token_type_embeddings.weight");
    embLnW = w.read("bert.embeddings.LayerNorm.weight");
    embLnB = w.read("bert.embeddings.LayerNorm.bias");
    layer = new Layer[layers];
    for (int l = 0; l < layers; l++) {
      String p = "bert.encoder.layer." + l + ".";
      layer[l] = new Layer(
          w.read(p + "attention.self.query.weight"), w.read(p + "attention.self.query.bias"),
          w.read(p + "attention.self.key.weight"), w.read(p + "attention.self.key.bias"),
          w.read(p + "attention.self.value.weight"), w.read(p + "attention.self.value.bias"),
          w.read(p + "attention.output.dense.weight"), w.read(p + "attention.output.dense.bias"),
          w.read(p + "attention.output.LayerNorm.weight"), w.read(p + "attention.output.LayerNorm.bias"),
          w.read(p + "intermediate.dense.weight"), w.read(p + "intermediate.dense.bias"),
          w.read(p + "output.dense.weight"), w.read(p + "output.dense.bias"),
          w.read(p + "output.LayerNorm.weight"), w.read(p + "output.LayerNorm.bias"));
    }
    tW = w.read("cls.predictions.transform.dense.weight");
    tB = w.read("cls.predictions.transform.dense.bias");
    tLnW = w.read("cls.predictions.transform.LayerNorm.weight");
    tLnB = w.read("cls.predictions.transform.LayerNorm.bias");
    outBias = w.read("cls.predictions.bias");
  }

  private static long[] need(Weights w, String name, int rank) throws IOException {
    long[] s = w.shape(name);
    if (s == null || s.length != rank) {
      throw new CheckpointException("not a BERT masked-LM checkpoint: " + name + " is missing or not rank " + rank);
    }
    return s;
  }

  public int vocabSize() {
    return vocab;
  }

  public int maxPositions() {
    return maxPos;
  }

  public int layers() {
    return layers;
  }

  /** The GELU variant in use: config.json's {@code hidden_act} unless set. */
  public Gelu gelu() {
    return gelu;
  }

  /** Sets the GELU variant (default: config.json's {@code hidden_act}, else the erf form). */
  public BertModel gelu(Gelu g) {
    this.gelu = g;
    return this;
  }

  /** Final hidden states [T, hidden] for a token-id sequence (token type 0, no padding). */
  public float[] encode(int[] ids) {
    int t = ids.length;
    if (t == 0 || t > maxPos) {
      throw new IllegalArgumentException("sequence length " + t + " not in [1, " + maxPos + "]");
    }
    int h = hidden;
    float[] x = new float[t * h];
    for (int i = 0; i < t; i++) {
      if (ids[i] < 0 || ids[i] >= vocab) {
        throw new IllegalArgumentException("token id " + ids[i] + " out of range");
      }
      int wo = ids[i] * h;
      int po = i * h;
      for (int j = 0; j < h; j++) {
        x[i * h + j] = wordEmb[wo + j] + posEmb[po + j] + typeEmb[j];
      }
    }
    layerNorm(x, t, embLnW, embLnB);
    float[] ctx = new float[t * h];
    float[] tmp = new float[t * h];
    float[] inter = new float[t * ffn];
    for (Layer ly : layer) {
      float[] q = MatMul.linear(x, t, h, ly.qW, h, ly.qB);
      float[] k = MatMul.linear(x, t, h, ly.kW, h, ly.kB);
      float[] v = MatMul.linear(x, t, h, ly.vW, h, ly.vB);
      attention(q, k, v, t, ctx);
      MatMul.linear(ctx, t, h, ly.oW, h, ly.oB, tmp);
      for (int i = 0; i < x.length; i++) {
        x[i] += tmp[i];
      }
      layerNorm(x, t, ly.ln1W, ly.ln1B);
      MatMul.linear(x, t, h, ly.iW, ffn, ly.iB, inter);
      gelu(inter);
      MatMul.linear(inter, t, ffn, ly.fW, h, ly.fB, tmp);
      for (int i = 0; i < x.length; i++) {
        x[i] += tmp[i];
      }
      layerNorm(x, t, ly.ln2W, ly.ln2B);
    }
    return x;
  }

  /** MLM logits [positions.length][vocab] at the given positions of the sequence. */
  public float[][] maskedLogits(int[] ids, int[] positions) {
    float[] x = encode(ids);
    int h = hidden;
    int m = positions.length;
    float[] sel = new float[m * h];
    for (int i = 0; i < m; i++) {
      System.arraycopy(x, positions[i] * h, sel, i * h, h);
    }
    float[] tr = MatMul.linear(sel, m, h, tW, h, tB);
    gelu(tr);
    layerNorm(tr, m, tLnW, tLnB);
    float[] logits = MatMul.linear(tr, m, h, wordEmb, vocab, outBias);
    float[][] out = new float[m][];
    for (int i = 0; i < m; i++) {
      out[i] = java.util.Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab);
    }
    return out;
  }

  private void attention(float[] q, float[] k, float[] v, int t, float[] ctx) {
    int h = hidden;
    int d = h / heads;
    float scale = (float) (1.0 / Math.sqrt(d));
    float[] s = new float[t];
    java.util.Arrays.fill(ctx, 0f);
    for (int hd = 0; hd < heads; hd++) {
      int off = hd * d;
      for (int i = 0; i < t; i++) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < t; j++) {
          float acc = 0f;
          int qi = i * h + off;
          int kj = j * h + off;
          for (int c = 0; c < d; c++) {
            acc += q[qi + c] * k[kj + c];
          }
          s[j] = acc * scale;
          max = Math.max(max, s[j]);
        }
        float sum = 0f;
        for (int j = 0; j < t; j++) {
          s[j] = (float) Math.exp(s[j] - max);
          sum += s[j];
        }
        float inv = 1f / sum;
        int ci = i * h + off;
        for (int j = 0; j < t; j++) {
          float p = s[j] * inv;
          int vj = j * h + off;
          for (int c = 0; c < d; c++) {
            ctx[ci + c] += p * v[vj + c];
          }
        }
      }
    }
  }

  private void layerNorm(float[] x, int rows, float[] g, float[] b) {
    int h = hidden;
    for (int r = 0; r < rows; r++) {
      int o = r * h;
      double mean = 0;
      for (int j = 0; j < h; j++) {
        mean += x[o + j];
      }
      mean /= h;
      double var = 0;
      for (int j = 0; j < h; j++) {
        double dd = x[o + j] - mean;
        var += dd * dd;
      }
      var /= h;
      float inv = (float) (1.0 / Math.sqrt(var + eps));
      float mu = (float) mean;
      for (int j = 0; j < h; j++) {
        x[o + j] = (x[o + j] - mu) * inv * g[j] + b[j];
      }
    }
  }

  private void gelu(float[] a) {
    if (gelu == Gelu.TANH) {
      final double c = Math.sqrt(2.0 / Math.PI);
      for (int i = 0; i < a.length; i++) {
        double x = a[i];
        a[i] = (float) (0.5 * x * (1.0 + Math.tanh(c * (x + 0.044715 * x * x * x))));
      }
    } else {
      for (int i = 0; i < a.length; i++) {
        double x = a[i];
        a[i] = (float) (0.5 * x * (1.0 + erf(x / Math.sqrt(2.0))));
      }
    }
  }

  /** erf with absolute error below 1.2e-7 (Numerical Recipes' erfc Chebyshev fit). */
  static double erf(double x) {
    double z = Math.abs(x);
    double t = 1.0 / (1.0 + 0.5 * z);
    double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? 1.0 - r : r - 1.0;
  }
}
