package org.seedlm.pipeline.run;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.codec.TensorCodecs;
import org.seedlm.pipeline.numeric.HalfFloats;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * A small model directory and a run over it, for run and pack tests: two quantized tensors (an F32
 * [7, 13] whose size is not a multiple of any block size used, a BF16 [4, 10] and an F16 [5, 7]), two kept tensors
 * and two side files.
 */
public final class RunFixture {
  public static final String DOWN = "model.layers.0.mlp.down_proj.weight";
  public static final String Q = "model.layers.1.self_attn.q_proj.weight";
  public static final String UP = "model.layers.2.mlp.up_proj.weight";
  public static final String NORM = "model.norm.weight";
  public static final String EMBED = "model.embed_tokens.weight";

  public final java.nio.file.Path modelDir;
  public final java.nio.file.Path runDir;
  public final Configuration conf = new Configuration();
  /** Original weights as float (BF16 values widened exactly). */
  public final Map<String, float[]> weights = new LinkedHashMap<>();
  public final Map<String, long[]> shapes = new LinkedHashMap<>();
  /** The codec: format version 2 defaults, with G fitted to the unit size once {@link #plan} ran. */
  public BlockCodec codec;
  private final String codecName;
  public RunSpec spec;
  public Plan plan;
  public RunDirectory run;

  private RunFixture(java.nio.file.Path root, String codecName) {
    this.modelDir = root.resolve("model");
    this.runDir = root.resolve("run");
    this.codecName = codecName;
    this.codec = TensorCodecs.isTensorCodecName(codecName) ? null : Codecs.parse(codecName);
  }

  /** Writes the model; {@code nanAt} (or -1) puts a NaN at that element of {@link #DOWN}. */
  public static RunFixture create(java.nio.file.Path root, String codecName, int nanAt) throws IOException {
    return create(root, codecName, nanAt, 42);
  }

  /**
   * Like {@link #create(java.nio.file.Path, String, int)}, with the weights drawn from {@code seed}: two seeds give
   * two models with byte-identical headers and different values (a base and an instruct model).
   */
  public static RunFixture create(java.nio.file.Path root, String codecName, int nanAt, long seed)
      throws IOException {
    RunFixture f = new RunFixture(root, codecName);
    Files.createDirectories(f.modelDir);
    Random r = new Random(seed);
    float[] down = new float[7 * 13];
    for (int i = 0; i < down.length; i++) {
      down[i] = (float) (r.nextGaussian() * 0.05);
    }
    down[17] = 0.9f; // an outlier
    if (nanAt >= 0) {
      down[nanAt] = Float.NaN;
    }
    float[] q = new float[40];
    byte[] qRaw = new byte[80];
    ByteBuffer qb = ByteBuffer.wrap(qRaw).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < q.length; i++) {
      short h = HalfFloats.floatToBf16((float) (r.nextGaussian() * 0.02));
      qb.putShort(h);
      q[i] = HalfFloats.bf16ToFloat(h & 0xFFFF);
    }
    float[] up = new float[35];
    byte[] upRaw = new byte[70];
    ByteBuffer ub = ByteBuffer.wrap(upRaw).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < up.length; i++) {
      short h = HalfFloats.floatToF16((float) (r.nextGaussian() * 0.1));
      ub.putShort(h);
      up[i] = HalfFloats.f16ToFloat(h & 0xFFFF);
    }
    float[] norm = new float[13];
    java.util.Arrays.fill(norm, 1f);
    byte[] embedRaw = new byte[5 * 4 * 2];
    r.nextBytes(embedRaw);
    f.weights.put(DOWN, down);
    f.weights.put(Q, q);
    f.shapes.put(DOWN, new long[] {7, 13});
    f.shapes.put(Q, new long[] {4, 10});
    f.weights.put(UP, up);
    f.shapes.put(UP, new long[] {5, 7});
    new SafetensorsWriter()
        .metadata("format", "pt")
        .add(EMBED, DType.BF16, new long[] {5, 4}, embedRaw)
        .addF32(DOWN, new long[] {7, 13}, down)
        .add(Q, DType.BF16, new long[] {4, 10}, qRaw)
        .add(UP, DType.F16, new long[] {5, 7}, upRaw)
        .addF32(NORM, new long[] {13}, norm)
        .write(new Path(f.modelDir.resolve("model.safetensors").toString()), f.conf);
    Files.writeString(f.modelDir.resolve("config.json"), "{\"model_type\": \"llama\"}\n");
    Files.writeString(f.modelDir.resolve("tokenizer.json"), "{\"version\": \"1.0\"}\n");
    return f;
  }

  /** Creates the run directory, spec and plan (format version 2 defaults, G fitted to the units). */
  public RunFixture plan(int unitBlocks, String nonFinite) throws IOException {
    return plan(unitBlocks, nonFinite, java.util.Map.of("G", Integer.toString(Planner.defaultGroupBlocks(unitBlocks)),
        "coefficients", "best"));
  }

  /**
   * Creates the run directory, spec and plan with the codec parameters {@code v2Params} (see {@link
   * Codecs#parse(String, java.util.Map)}; empty: format version 1, as a run made before version 2).
   */
  public RunFixture plan(int unitBlocks, String nonFinite, java.util.Map<String, String> v2Params) throws IOException {
    codec = Codecs.parse(codecName, v2Params);
    return plan(codec.name(), codec.params(), unitBlocks, nonFinite,
        (src, sel) -> Planner.plan(src, sel, codec.blockSize(), unitBlocks, codec.groupBlocks()));
  }

  /** Creates the run directory, spec and plan of a tensor-level codec ({@link TensorCodecs}): one unit per tensor. */
  public RunFixture planTensorCodec(String nonFinite) throws IOException {
    TensorCodec c = TensorCodecs.parse(codecName);
    return plan(c.name(), c.params(), 1, nonFinite, (src, sel) -> Planner.planTensors(src, sel, c.name()));
  }

  private RunFixture plan(String name, java.util.Map<String, String> params, int unitBlocks, String nonFinite,
      java.util.function.BiFunction<List<Planner.SourceTensor>, TensorSelection, Plan> planner) throws IOException {
    try (Checkpoint c = Checkpoint.open(new Path(modelDir.toString()), conf)) {
      spec = new RunSpec(RunSpec.FORMAT, RunSpec.VERSION, modelDir.toString(), c.fingerprint(), name, params,
          List.of(), List.of(), unitBlocks, nonFinite, c.contentFingerprint());
      List<Planner.SourceTensor> src = new ArrayList<>();
      for (Checkpoint.Tensor t : c.tensors().values()) {
        src.add(new Planner.SourceTensor(t.shard(), t.info()));
      }
      plan = planner.apply(src, spec.selection());
    }
    run = RunDirectory.at(runDir.toString(), conf);
    run.initOrCheck(spec);
    run.writeOrCheckPlan(plan);
    return this;
  }

  public UnitRunner.Context context() {
    return new UnitRunner.Context(runDir.toString(), modelDir.toString(), spec, Codecs::parse, Set.of());
  }

  /** Runs every unit; returns the outcomes. */
  public List<UnitRunner.Outcome> runAll() {
    List<UnitRunner.Outcome> out = new ArrayList<>();
    for (WorkUnit u : plan.units()) {
      out.add(UnitRunner.run(context(), conf, u));
    }
    return out;
  }

  /** The codec's decode of the original tensor (padded, encoded, decoded, padding dropped). */
  public float[] expectedDecode(String tensor) {
    return expectedDecode(codec, weights.get(tensor));
  }

  public static float[] expectedDecode(BlockCodec codec, float[] w) {
    int c = codec.blockSize();
    int blocks = (w.length + c - 1) / c;
    float[] padded = java.util.Arrays.copyOf(w, blocks * c);
    for (int i = 0; i < padded.length; i++) {
      if (!Float.isFinite(padded[i])) {
        padded[i] = 0f;
      }
    }
    byte[] packed = new byte[(int) codec.packedBytes(blocks)];
    int[] offsets = codec.groupOffsets(padded, 0, blocks);
    codec.encode(padded, 0, blocks, offsets, packed, 0);
    float[] out = new float[padded.length];
    codec.decode(packed, 0, blocks, offsets, out, 0);
    return java.util.Arrays.copyOf(out, w.length);
  }
}
