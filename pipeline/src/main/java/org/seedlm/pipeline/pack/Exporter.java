package org.seedlm.pipeline.pack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.ReplacingWrite;
import org.seedlm.pipeline.numeric.HalfFloats;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.CheckpointException;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;
import org.seedlm.pipeline.safetensors.TensorInfo;

/**
 * Exports a packed model as a standard Hugging Face checkpoint that any safetensors reader loads: the
 * quantized tensors decoded ({@link PackedModel#decode}, the canonical decoder) and cast to one dtype
 * (round to nearest even), every kept tensor copied byte for byte in its own dtype, with the source
 * checkpoint's tensor names, shapes, shard files and order (within a shard: by data offset), the index
 * {@code model.safetensors.index.json} when the source has one, {@code config.json} with
 * {@code torch_dtype} set, and the other side files copied.
 *
 * <p>Shards are independent ({@link #writeShard}), so an engine can write them in parallel; {@link #finish}
 * then writes the index and the side files. Each file is written under a temporary name and renamed
 * ({@link ReplacingWrite}). The output depends only on the packed model and the dtype: exporting twice gives
 * byte-identical files.
 */
public final class Exporter {
  private Exporter() {}

  /** The {@code --dtype} names and the dtypes they write. */
  private static final Map<String, DType> DTYPES = Map.of("bf16", DType.BF16, "f16", DType.F16, "f32", DType.F32);

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One tensor of an output shard: written decoded (quantized) or copied (kept). */
  public record Item(String name, DType dtype, long[] shape, boolean decoded) implements Serializable {
    public long bytes() {
      return TensorInfo.numel(shape) * dtype.size();
    }
  }

  /** One output file and its tensors, in the source's order. */
  public record OutputShard(String file, List<Item> tensors) implements Serializable {
    public long dataBytes() {
      return tensors.stream().mapToLong(Item::bytes).sum();
    }
  }

  /** What exporting produced: the shards in order, and whether the index was written. */
  public record Plan(DType dtype, List<OutputShard> shards, boolean indexed) implements Serializable {
    public long dataBytes() {
      return shards.stream().mapToLong(OutputShard::dataBytes).sum();
    }

    public int tensors() {
      return shards.stream().mapToInt(s -> s.tensors().size()).sum();
    }

    public long decoded() {
      return shards.stream().flatMap(s -> s.tensors().stream()).filter(Item::decoded).count();
    }
  }

  /** The dtype of a {@code --dtype} name ({@code bf16}, {@code f16}, {@code f32}). */
  public static DType parseDType(String name) {
    DType d = name == null ? null : DTYPES.get(name.toLowerCase(Locale.ROOT));
    if (d == null) {
      throw new BadInputException("Cannot export: --dtype " + name + " is not one of bf16, f16, f32");
    }
    return d;
  }

  /** The {@code torch_dtype} of config.json for a dtype. */
  public static String torchDtype(DType d) {
    return switch (d) {
      case BF16 -> "bfloat16";
      case F16 -> "float16";
      case F32 -> "float32";
      default -> throw new IllegalArgumentException("not an export dtype: " + d);
    };
  }

  /** Refuses an output that exists and is not an empty directory, then creates it. */
  public static void prepareOutput(Path out, Configuration conf) throws IOException {
    FileSystem fs = out.getFileSystem(conf);
    if (fs.exists(out) && (!fs.isDirectory(out) || fs.listStatus(out).length > 0)) {
      throw new BadInputException("Cannot export to " + out + ": it exists and is not an empty directory "
          + "(choose a new --out, or delete it)");
    }
    fs.mkdirs(out);
  }

  /**
   * The output shards: the source checkpoint's files and tensors in their order, each tensor the packed
   * model's (decoded to {@code dtype} if quantized). A checkpoint without an index gives one
   * {@code model.safetensors}.
   */
  public static Plan plan(PackedModel packed, Checkpoint source, DType dtype, Configuration conf)
      throws IOException {
    FileSystem fs = source.location().getFileSystem(conf);
    boolean indexed = fs.isDirectory(source.location())
        && fs.exists(new Path(source.location(), Checkpoint.INDEX_NAME));
    Checkpoint stored = packed.checkpoint();
    List<OutputShard> shards = new ArrayList<>();
    for (String file : source.shards()) {
      List<TensorInfo> order = new ArrayList<>(source.shard(file).tensors().values());
      order.sort(Comparator.comparingLong(TensorInfo::begin).thenComparing(TensorInfo::name));
      List<Item> items = new ArrayList<>();
      for (TensorInfo t : order) {
        PackedFormat.TensorMeta q = packed.quantized().get(t.name());
        if (q != null) {
          checkShape(packed, t, q.shape());
          items.add(new Item(t.name(), dtype, t.shape(), true));
        } else {
          if (!stored.tensors().containsKey(t.name())) {
            throw CheckpointException.tensor(stored.location().toString(), t.name(), "is in the source checkpoint "
                + source.location() + " but not in this packed model (assemble the run again)");
          }
          TensorInfo k = stored.info(t.name());
          checkShape(packed, t, k.shape());
          items.add(new Item(t.name(), k.dtype(), k.shape(), false));
        }
      }
      shards.add(new OutputShard(indexed ? file : Checkpoint.SINGLE_NAME, items));
    }
    Plan plan = new Plan(dtype, shards, indexed);
    if (plan.tensors() != stored.tensors().size()) {
      throw CheckpointException.file(stored.location().toString(), String.format(
          "stores %d tensors, but the source checkpoint %s has %d (is this the packed model of that checkpoint?)",
          stored.tensors().size(), source.location(), plan.tensors()));
    }
    return plan;
  }

  private static void checkShape(PackedModel packed, TensorInfo source, long[] shape) throws CheckpointException {
    if (!java.util.Arrays.equals(source.shape(), shape)) {
      throw CheckpointException.tensor(packed.checkpoint().location().toString(), source.name(), String.format(
          "has shape %s in the packed model but %s in the source checkpoint (assemble the run again)",
          java.util.Arrays.toString(shape), java.util.Arrays.toString(source.shape())));
    }
  }

  /** Writes one output shard; {@code tensorDone} is called after each tensor (for progress). */
  public static ReplacingWrite.Written writeShard(Path packedDir, Path out, OutputShard shard, Runnable tensorDone,
      Configuration conf) throws IOException {
    try (PackedModel packed = PackedModel.open(packedDir, conf)) {
      SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
      for (Item t : shard.tensors()) {
        w.add(t.name(), t.dtype(), t.shape(), o -> {
          if (t.decoded()) {
            writeValues(packed.decode(t.name()), t.dtype(), o);
          } else {
            packed.checkpoint().fileOf(t.name()).copyTo(t.name(), o);
          }
          tensorDone.run();
        });
      }
      return ReplacingWrite.write(out.getFileSystem(conf), new Path(out, shard.file()), w::writeTo);
    }
  }

  /** Writes floats as little-endian {@code dtype} values (BF16 and F16 rounded to nearest even). */
  static void writeValues(float[] values, DType dtype, OutputStream out) throws IOException {
    ByteBuffer bb = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      if (bb.remaining() < 4) {
        out.write(bb.array(), 0, bb.position());
        bb.clear();
      }
      switch (dtype) {
        case F32 -> bb.putFloat(v);
        case BF16 -> bb.putShort(HalfFloats.floatToBf16(v));
        case F16 -> bb.putShort(HalfFloats.floatToF16(v));
        default -> throw new IllegalArgumentException("not an export dtype: " + dtype);
      }
    }
    out.write(bb.array(), 0, bb.position());
  }

  /**
   * Writes the index (when the source has one; {@code metadata.total_size} = tensor data bytes, as Hugging
   * Face writes it), {@code config.json} with {@code torch_dtype} set, and copies the other side files.
   */
  public static void finish(Path packedDir, Path out, Plan plan, Configuration conf) throws IOException {
    FileSystem outFs = out.getFileSystem(conf);
    if (plan.indexed()) {
      Map<String, String> weightMap = new TreeMap<>();
      for (OutputShard s : plan.shards()) {
        s.tensors().forEach(t -> weightMap.put(t.name(), s.file()));
      }
      Map<String, Object> index = new LinkedHashMap<>();
      index.put("metadata", Map.of("total_size", plan.dataBytes()));
      index.put("weight_map", weightMap);
      ReplacingWrite.write(outFs, new Path(out, Checkpoint.INDEX_NAME),
          JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
    }
    FileSystem inFs = packedDir.getFileSystem(conf);
    for (FileStatus s : Checkpoint.sideFiles(inFs, packedDir)) {
      Path dst = new Path(out, s.getPath().getName());
      if (s.getPath().getName().equals(Checkpoint.CONFIG_NAME)) {
        JsonNode config;
        try (var in = inFs.open(s.getPath())) {
          config = JSON.readTree(in);
        }
        if (!(config instanceof ObjectNode o)) {
          throw CheckpointException.file(s.getPath().toString(), "config JSON is not an object (fix config.json)");
        }
        o.put("torch_dtype", torchDtype(plan.dtype()));
        ReplacingWrite.write(outFs, dst, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o));
      } else {
        FileUtil.copy(inFs, s.getPath(), outFs, dst, false, true, conf);
      }
    }
  }

  /** Exports on one machine (what an engine does in parallel per shard). */
  public static Plan exportLocally(Path packedDir, Path sourceModel, Path out, DType dtype, Configuration conf)
      throws IOException {
    Plan plan;
    try (PackedModel packed = PackedModel.open(packedDir, conf);
        Checkpoint source = Checkpoint.open(sourceModel, conf)) {
      plan = plan(packed, source, dtype, conf);
    }
    prepareOutput(out, conf);
    for (OutputShard s : plan.shards()) {
      writeShard(packedDir, out, s, () -> {}, conf);
    }
    finish(packedDir, out, plan, conf);
    return plan;
  }
}
