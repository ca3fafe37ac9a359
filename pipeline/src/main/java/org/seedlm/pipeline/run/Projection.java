package org.seedlm.pipeline.run;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.TensorInfo;

/**
 * What quantizing a model would take, before any search: the plan (tensors, blocks, units), the packed
 * model's bytes, the block tables' bytes and the core-hours of the search, from rates measured on this
 * machine (or on a finished run). Works on a real checkpoint's headers (nothing else is read) or on a
 * published shape built in memory ({@link #shape}).
 */
public record Projection(String model, Plan plan, String codec, int bitsPerBlock, long keptBytes,
    double parquetBytesPerBlock, String parquetSource, double blocksPerCoreSecond, String rateSource) {

  /** A published Llama-family shape (from the models' config.json files), all weights BF16. */
  public record Shape(String name, int layers, int hidden, int intermediate, int kvDim, int vocab) {}

  /** The shapes {@link #shape} knows. */
  public static final Map<String, Shape> SHAPES = new TreeMap<>(Map.of(
      "llama-2-70b", new Shape("Llama-2-70B", 80, 8192, 28672, 1024, 32000),
      "llama-3-70b", new Shape("Llama-3-70B", 80, 8192, 28672, 1024, 128256),
      "llama-3.1-405b", new Shape("Llama-3.1-405B", 126, 16384, 53248, 1024, 128256),
      "mistral-7b", new Shape("Mistral-7B", 32, 4096, 14336, 1024, 32000),
      "llama-2-7b", new Shape("Llama-2-7B", 32, 4096, 11008, 4096, 32000)));

  /** The tensors of a published shape, as a checkpoint's headers would list them (one shard, BF16). */
  public static List<Planner.SourceTensor> shape(String name) {
    Shape s = SHAPES.get(name);
    if (s == null) {
      throw new BadInputException("Cannot project shape \"" + name + "\": expected one of "
          + String.join(", ", SHAPES.keySet()) + " (set --shape), or give a checkpoint with --model");
    }
    List<Planner.SourceTensor> out = new ArrayList<>();
    long[] at = {0};
    java.util.function.BiConsumer<String, long[]> add = (n, shape) -> {
      TensorInfo t = new TensorInfo(n, DType.BF16, shape, at[0], at[0] + 2 * TensorInfo.numel(shape));
      at[0] = t.end();
      out.add(new Planner.SourceTensor("model.safetensors", t));
    };
    long h = s.hidden();
    add.accept("model.embed_tokens.weight", new long[] {s.vocab(), h});
    for (int l = 0; l < s.layers(); l++) {
      String p = "model.layers." + l + ".";
      add.accept(p + "input_layernorm.weight", new long[] {h});
      add.accept(p + "self_attn.q_proj.weight", new long[] {h, h});
      add.accept(p + "self_attn.k_proj.weight", new long[] {s.kvDim(), h});
      add.accept(p + "self_attn.v_proj.weight", new long[] {s.kvDim(), h});
      add.accept(p + "self_attn.o_proj.weight", new long[] {h, h});
      add.accept(p + "post_attention_layernorm.weight", new long[] {h});
      add.accept(p + "mlp.gate_proj.weight", new long[] {s.intermediate(), h});
      add.accept(p + "mlp.up_proj.weight", new long[] {s.intermediate(), h});
      add.accept(p + "mlp.down_proj.weight", new long[] {h, s.intermediate()});
    }
    add.accept("model.norm.weight", new long[] {h});
    add.accept("lm_head.weight", new long[] {s.vocab(), h});
    return out;
  }

  /** Bytes of the kept tensors as stored in the checkpoint. */
  public static long keptBytes(List<Planner.SourceTensor> src, Plan plan) {
    java.util.Set<String> kept = new java.util.HashSet<>();
    plan.kept().forEach(k -> kept.add(k.name()));
    long b = 0;
    for (Planner.SourceTensor t : src) {
      if (kept.contains(t.info().name())) {
        b += t.info().byteLength();
      }
    }
    return b;
  }

  /** Block-table bytes per block and blocks per task-second of a finished run, from its commit markers. */
  public static double[] measuredOnRun(RunDirectory run) throws IOException {
    long rows = 0;
    long bytes = 0;
    double seconds = 0;
    for (CommitMarker m : run.readCommits().values()) {
      rows += m.rows();
      bytes += m.fileBytes();
      seconds += m.seconds();
    }
    if (rows == 0) {
      throw new BadInputException("Cannot measure rates on " + run.root() + ": it has no committed unit (run "
          + "`seedlm quantize` on it first, or leave --from-run out)");
    }
    return new double[] {(double) bytes / rows, rows / seconds};
  }

  /**
   * Blocks per second of {@code codec} on one thread over Gaussian blocks of standard deviation {@code sigma}
   * (trained Llama weights are on the order of 0.02), timed for about {@code seconds} after a warm-up.
   */
  public static double measureRate(BlockCodec codec, double sigma, double seconds) {
    int c = codec.blockSize();
    int batch = 256;
    Random r = new Random(1);
    float[][] inputs = new float[8][batch * c]; // drawn before timing: only the encoder is timed
    for (float[] w : inputs) {
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (sigma * r.nextGaussian());
      }
    }
    byte[] out = new byte[Math.toIntExact(codec.packedBytes(batch))];
    codec.encode(inputs[0], 0, batch, out, 0); // warm-up
    long blocks = 0;
    long t0 = System.nanoTime();
    for (int round = 0; ; round++) {
      codec.encode(inputs[round % inputs.length], 0, batch, out, 0);
      blocks += batch;
      double s = (System.nanoTime() - t0) / 1e9;
      if (s >= seconds) {
        return blocks / s;
      }
    }
  }

  /** The projection as lines. */
  public String format() {
    long blocks = plan.numBlocks();
    long weights = plan.numWeights();
    long packed = (blocks * bitsPerBlock + 7) / 8;
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%s: %,d tensors quantized (%,d weights), %,d kept (%s)%n", model,
        plan.tensors().size(), weights, plan.kept().size(), bytes(keptBytes)));
    b.append(String.format(Locale.ROOT, "plan (%s, %,d blocks per unit): %,d blocks in %,d units%n", codec,
        plan.unitBlocks(), blocks, plan.numUnits()));
    b.append(String.format(Locale.ROOT, "packed model: %s of codes (%.3f bits/weight) + %s kept = %s%n",
        bytes(packed), 8.0 * packed / weights, bytes(keptBytes), bytes(packed + keptBytes)));
    if (Double.isNaN(parquetBytesPerBlock)) {
      b.append("block tables: not projected (give --from-run RUN: a finished run of this codec, for its bytes"
          + " per block)\n");
    } else {
      b.append(String.format(Locale.ROOT, "block tables (Parquet): %.1f bytes/block (%s) = %s%n",
          parquetBytesPerBlock, parquetSource, bytes(Math.round(parquetBytesPerBlock * blocks))));
    }
    double coreHours = blocks / blocksPerCoreSecond / 3600;
    b.append(String.format(Locale.ROOT, "search: %,.0f blocks/s per core (%s) = %,.0f core-hours: %,.1f h on 64 "
        + "cores, %,.1f h on 512%n", blocksPerCoreSecond, rateSource, coreHours, coreHours / 64, coreHours / 512));
    return b.toString();
  }

  private static String bytes(long n) {
    return n >= 1e9 ? String.format(Locale.ROOT, "%.1f GB", n / 1e9) : String.format(Locale.ROOT, "%.1f MB", n / 1e6);
  }
}
