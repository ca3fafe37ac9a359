package org.seedlm.pipeline.tools;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.eval.BertModel;
import org.seedlm.pipeline.eval.llama.LlamaConfig;
import org.seedlm.pipeline.eval.llama.LlamaWeights;
import org.seedlm.pipeline.metrics.ErrorStats;
import org.seedlm.pipeline.run.TensorSelection;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.TensorInfo;

/**
 * A model whose selected rank-2 tensors were encoded with one {@link TensorCodec} and decoded back,
 * in memory: what the eval code sees of a compressed model without a run, a packed format or a
 * Spark job. Used by {@code seedlm compare --eval} to put zero-shot figures beside every codec,
 * the tensor-level ones included, without a run.
 */
public final class DecodedModel {
  private final String codec;
  private final Map<String, float[]> decoded; // tensor name -> decoded floats, row-major
  private final ErrorStats stats;
  private final long encodedBytes;

  private DecodedModel(String codec, Map<String, float[]> decoded, ErrorStats stats, long encodedBytes) {
    this.codec = codec;
    this.decoded = decoded;
    this.stats = stats;
    this.encodedBytes = encodedBytes;
  }

  /** Encodes and decodes every rank-2 tensor of {@code ck} that {@code selection} selects. */
  public static DecodedModel encode(Checkpoint ck, TensorSelection selection, TensorCodec codec) throws IOException {
    Map<String, float[]> decoded = new TreeMap<>();
    ErrorStats stats = new ErrorStats();
    long bytes = 0;
    for (Checkpoint.Tensor t : new TreeMap<>(ck.tensors()).values()) {
      TensorInfo info = t.info();
      if (info.rank() != 2 || !selection.selects(info)) {
        continue;
      }
      CodecComparison.Sample s = CodecComparison.sample(ck, info.name(), Long.MAX_VALUE);
      byte[] enc = codec.encode(s.weights(), s.rows(), s.cols());
      float[] what = codec.decode(enc, s.rows(), s.cols());
      stats.add(s.weights(), 0, what, 0, what.length);
      bytes += enc.length;
      decoded.put(info.name(), what);
    }
    return new DecodedModel(codec.name(), decoded, stats, bytes);
  }

  /**
   * The original model with only {@code tensor} replaced by {@code decoded} (row-major, decoded elsewhere, e.g.
   * from a packed model): what {@code allocate --objective kl} evaluates. Its {@link #stats()} is empty.
   */
  public static DecodedModel replacing(String codec, String tensor, float[] decoded) {
    return new DecodedModel(codec, Map.of(tensor, decoded), new ErrorStats(), 0);
  }

  public String codec() {
    return codec;
  }

  /** The tensors encoded. */
  public int tensors() {
    return decoded.size();
  }

  /** Reconstruction error over all encoded tensors together. */
  public ErrorStats stats() {
    return stats;
  }

  /** Bits per weight of the encoded tensors: their encoded bytes over their weights. */
  public double bitsPerWeight() {
    return 8.0 * encodedBytes / stats.count();
  }

  /** A lookup by tensor name in the original model (its shapes, its reads). */
  private interface Lookup<T> {
    T apply(String name) throws IOException;
  }

  /** The decoded tensors over a source: a decoded tensor is read as a copy, anything else from the source. */
  private abstract class Overlay {
    private final Lookup<long[]> originalShape;
    private final Lookup<float[]> originalRead;

    Overlay(Lookup<long[]> originalShape, Lookup<float[]> originalRead) {
      this.originalShape = originalShape;
      this.originalRead = originalRead;
    }

    public long[] shape(String name) throws IOException {
      return originalShape.apply(name);
    }

    public float[] read(String name) throws IOException {
      float[] d = decoded.get(name);
      return d != null ? d.clone() : originalRead.apply(name);
    }
  }

  private final class BertOverlay extends Overlay implements BertModel.Weights {
    private final BertModel.Weights original;

    BertOverlay(BertModel.Weights original) {
      super(original::shape, original::read);
      this.original = original;
    }

    @Override
    public int configInt(String key, int dflt) throws IOException {
      return original.configInt(key, dflt);
    }

    @Override
    public String configText(String key, String dflt) throws IOException {
      return original.configText(key, dflt);
    }
  }

  private final class LlamaOverlay extends Overlay implements LlamaWeights {
    private final LlamaWeights original;

    LlamaOverlay(LlamaWeights original) {
      super(original::shape, original::read);
      this.original = original;
    }

    @Override
    public LlamaConfig config() {
      return original.config();
    }

    @Override
    public void readRows(String name, long row, int rows, int cols, float[] dst, int off) throws IOException {
      float[] d = decoded.get(name);
      if (d == null) {
        original.readRows(name, row, rows, cols, dst, off);
      } else {
        System.arraycopy(d, Math.toIntExact(row * cols), dst, off, rows * cols);
      }
    }

    @Override
    public void close() throws IOException {
      original.close();
    }
  }

  /** BERT weights: the decoded tensors, the rest from {@code original}. */
  public BertModel.Weights bert(BertModel.Weights original) {
    return new BertOverlay(original);
  }

  /** Llama weights: the decoded tensors, the rest from {@code original} (closed with these). */
  public LlamaWeights llama(LlamaWeights original) {
    return new LlamaOverlay(original);
  }
}
