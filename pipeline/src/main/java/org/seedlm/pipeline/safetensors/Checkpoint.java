package org.seedlm.pipeline.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.Closeable;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A model checkpoint: one safetensors file, or Hugging Face shards listed by
 * {@code model.safetensors.index.json}, read through the Hadoop {@link FileSystem} API.
 *
 * <p>{@link #open} accepts a directory holding {@value #INDEX_NAME} (sharded layout) or
 * {@value #SINGLE_NAME}, or the path of a single {@code .safetensors} file. The model directory
 * (where {@value #CONFIG_NAME} is looked up) is the directory itself, or the file's parent.
 *
 * <p>For a sharded checkpoint the index is cross-checked against the shard headers: every shard name
 * must be a plain file name in the model directory, every shard must exist, every tensor of the
 * index must be in its shard, and every tensor of a shard must be mapped by the index to that shard.
 * Only the shards the index names are opened: other {@code .safetensors} files in the directory (for
 * example a consolidated copy) are ignored. {@link #tensors()} is sorted by tensor name.
 *
 * <p>Thread-safe for concurrent reads once opened.
 */
public final class Checkpoint implements Closeable {

  public static final String INDEX_NAME = "model.safetensors.index.json";
  public static final String SINGLE_NAME = "model.safetensors";
  public static final String CONFIG_NAME = "config.json";

  /** Largest accepted index or config JSON file. */
  public static final long MAX_JSON_BYTES = 64L << 20;

  /** Where a tensor lives: the shard's file name and its header entry. */
  public record Tensor(String shard, TensorInfo info) {
    public String name() {
      return info.name();
    }
  }

  private final Path location;
  private final Path modelDir;
  private final FileSystem fs;
  private final Map<String, SafetensorsFile> shards; // sorted by name
  private final Map<String, Tensor> tensors; // sorted by name
  private volatile JsonNode config;

  private Checkpoint(Path location, Path modelDir, FileSystem fs,
      Map<String, SafetensorsFile> shards, Map<String, Tensor> tensors) {
    this.location = location;
    this.modelDir = modelDir;
    this.fs = fs;
    this.shards = Collections.unmodifiableMap(shards);
    this.tensors = Collections.unmodifiableMap(tensors);
  }

  /** Opens and validates a checkpoint (see the class comment for accepted layouts). */
  public static Checkpoint open(Path location, Configuration conf) throws IOException {
    FileSystem fs = location.getFileSystem(conf);
    FileStatus status;
    try {
      status = fs.getFileStatus(location);
    } catch (FileNotFoundException e) {
      throw CheckpointException.file(location.toString(),
          "no such file or directory (check the checkpoint path)", e);
    }
    if (status.isDirectory()) {
      Path index = new Path(location, INDEX_NAME);
      if (fs.exists(index)) {
        return openSharded(location, index, fs, conf);
      }
      Path single = new Path(location, SINGLE_NAME);
      if (fs.exists(single)) {
        return openSingle(location, location, single, fs, conf);
      }
      throw CheckpointException.file(location.toString(), "directory holds neither " + INDEX_NAME
          + " nor " + SINGLE_NAME + " (point at a Hugging Face model directory or a"
          + " .safetensors file)");
    }
    return openSingle(location, location.getParent(), location, fs, conf);
  }

  private static Checkpoint openSingle(Path location, Path modelDir, Path file, FileSystem fs,
      Configuration conf) throws IOException {
    SafetensorsFile f = SafetensorsFile.open(file, conf);
    String shard = file.getName();
    Map<String, SafetensorsFile> shards = new TreeMap<>();
    shards.put(shard, f);
    Map<String, Tensor> tensors = new TreeMap<>();
    for (TensorInfo t : f.tensors().values()) {
      tensors.put(t.name(), new Tensor(shard, t));
    }
    return new Checkpoint(location, modelDir, fs, shards, tensors);
  }

  private static Checkpoint openSharded(Path dir, Path index, FileSystem fs, Configuration conf)
      throws IOException {
    String label = index.toString();
    JsonNode root = readJsonFile(fs, index, "index");
    if (!root.isObject()) {
      throw CheckpointException.file(label, "index JSON is " + SafetensorsHeader.kind(root)
          + ", not an object (expected {\"metadata\": {...}, \"weight_map\": {...}})");
    }
    JsonNode map = root.get("weight_map");
    if (map == null || !map.isObject()) {
      throw CheckpointException.file(label, "index has "
          + (map == null ? "no weight_map" : "a weight_map that is " + SafetensorsHeader.kind(map))
          + " (expected \"weight_map\": {tensor: shard file name, ...})");
    }
    Map<String, String> weightMap = new LinkedHashMap<>();
    Map<String, String> firstTensorOfShard = new TreeMap<>();
    for (Map.Entry<String, JsonNode> e : map.properties()) {
      String tensor = e.getKey();
      JsonNode v = e.getValue();
      if (!v.isTextual()) {
        throw CheckpointException.file(label, "index maps tensor '" + tensor + "' to "
            + SafetensorsHeader.kind(v) + ", not a shard file name (fix the index)");
      }
      String shard = v.textValue();
      if (!isPlainFileName(shard)) {
        throw CheckpointException.file(label, "index maps tensor '" + tensor + "' to shard '"
            + shard + "', which points outside the model directory (shard names must be plain"
            + " file names; fix the index)");
      }
      weightMap.put(tensor, shard);
      firstTensorOfShard.putIfAbsent(shard, tensor);
    }
    if (weightMap.isEmpty()) {
      throw CheckpointException.file(label, "index weight_map is empty (fix the index)");
    }
    Map<String, SafetensorsFile> shards = new TreeMap<>();
    boolean ok = false;
    try {
      for (Map.Entry<String, String> e : firstTensorOfShard.entrySet()) {
        String shard = e.getKey();
        Path p = new Path(dir, shard);
        if (!fs.exists(p)) {
          throw CheckpointException.file(label, "shard '" + shard + "' (listed for tensor '"
              + e.getValue() + "') does not exist at " + p + " (download the missing shard)");
        }
        shards.put(shard, SafetensorsFile.open(p, conf));
      }
      Map<String, Tensor> tensors = new TreeMap<>();
      for (Map.Entry<String, String> e : weightMap.entrySet()) {
        String tensor = e.getKey();
        SafetensorsFile f = shards.get(e.getValue());
        TensorInfo t = f.tensors().get(tensor);
        if (t == null) {
          throw CheckpointException.file(label, "tensor '" + tensor + "' is listed in the index"
              + " for shard '" + e.getValue() + "' but that shard's header does not have it"
              + " (the index and the shards do not match; download the model again)");
        }
        tensors.put(tensor, new Tensor(e.getValue(), t));
      }
      for (Map.Entry<String, SafetensorsFile> s : shards.entrySet()) {
        for (String tensor : s.getValue().tensors().keySet()) {
          String mapped = weightMap.get(tensor);
          if (!s.getKey().equals(mapped)) {
            throw CheckpointException.file(label, "tensor '" + tensor + "' is in shard '"
                + s.getKey() + "' but the index "
                + (mapped == null ? "does not list it" : "maps it to shard '" + mapped + "'")
                + " (the index and the shards do not match; download the model again)");
          }
        }
      }
      Checkpoint c = new Checkpoint(dir, dir, fs, shards, tensors);
      ok = true;
      return c;
    } finally {
      if (!ok) {
        for (SafetensorsFile f : shards.values()) {
          f.close();
        }
      }
    }
  }

  /** Largest side file ({@link #sideFiles}) that travels with a model's weights. */
  public static final long MAX_SIDE_FILE_BYTES = 64L << 20;

  /**
   * The side files of a model directory, sorted by name: the small files that travel with its weights
   * (config.json, generation_config.json, vocab and tokenizer files), that is every regular file of at most
   * {@link #MAX_SIDE_FILE_BYTES} that is not a {@code *.safetensors} shard, the index, a seedlm
   * {@code manifest.json} or {@code import.json}, nor a name starting with {@code .} or {@code _}. None when
   * {@code dir} is not a directory.
   */
  public static List<FileStatus> sideFiles(FileSystem fs, Path dir) throws IOException {
    List<FileStatus> out = new ArrayList<>();
    if (!fs.isDirectory(dir)) {
      return out;
    }
    for (FileStatus s : fs.listStatus(dir)) {
      String name = s.getPath().getName();
      if (s.isFile() && s.getLen() <= MAX_SIDE_FILE_BYTES && !name.endsWith(".safetensors")
          && !name.equals(INDEX_NAME) && !name.startsWith(".") && !name.startsWith("_")
          && !name.equals("manifest.json") && !name.equals("import.json")) {
        out.add(s);
      }
    }
    out.sort(java.util.Comparator.comparing(s -> s.getPath().getName()));
    return out;
  }

  /** Whether {@code name} is a plain file name that stays inside the model directory. */
  static boolean isPlainFileName(String name) {
    return !name.isEmpty() && !name.equals(".") && !name.equals("..") && !name.contains("/")
        && !name.contains("\\") && !name.contains(":") && name.indexOf('\0') < 0
        && !name.startsWith("..");
  }

  private static JsonNode readJsonFile(FileSystem fs, Path p, String what) throws IOException {
    String label = p.toString();
    long len = fs.getFileStatus(p).getLen();
    if (len > MAX_JSON_BYTES) {
      throw CheckpointException.file(label, what + " is " + len + " bytes, more than the limit of "
          + MAX_JSON_BYTES + " (the file is not a valid " + what + ")");
    }
    byte[] buf = new byte[(int) len];
    try (FSDataInputStream in = fs.open(p)) {
      in.readFully(0, buf, 0, buf.length);
    }
    return SafetensorsHeader.readJson(label, what, new String(buf, StandardCharsets.UTF_8));
  }

  /** The location given to {@link #open}. */
  public Path location() {
    return location;
  }

  /** The model directory (where config.json is looked up). */
  public Path modelDirectory() {
    return modelDir;
  }

  /** All tensors, sorted by name (unmodifiable). */
  public Map<String, Tensor> tensors() {
    return tensors;
  }

  /** Shard file names, sorted. A single-file checkpoint has one shard: the file's name. */
  public List<String> shards() {
    return new ArrayList<>(shards.keySet());
  }

  /** The open shard of this name. */
  public SafetensorsFile shard(String name) throws CheckpointException {
    SafetensorsFile f = shards.get(name);
    if (f == null) {
      throw CheckpointException.file(location.toString(), "shard '" + name
          + "' is not part of this checkpoint (shards: " + shards.keySet() + ")");
    }
    return f;
  }

  /** The tensor's shard and header entry. */
  public Tensor tensor(String name) throws CheckpointException {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw CheckpointException.tensor(location.toString(), name, "does not exist in this"
          + " checkpoint (" + tensors.size() + " tensors; check the tensor name)");
    }
    return t;
  }

  /** The tensor's header entry. */
  public TensorInfo info(String name) throws CheckpointException {
    return tensor(name).info();
  }

  /** The open file holding a tensor. */
  public SafetensorsFile fileOf(String name) throws CheckpointException {
    return shards.get(tensor(name).shard());
  }

  /** See {@link SafetensorsFile#readFloats}. */
  public void readFloats(String name, long firstElement, int count, float[] dst, int dstOff)
      throws IOException {
    fileOf(name).readFloats(name, firstElement, count, dst, dstOff);
  }

  /** See {@link SafetensorsFile#readFiniteFloats}. */
  public void readFiniteFloats(String name, long firstElement, int count, float[] dst, int dstOff)
      throws IOException {
    fileOf(name).readFiniteFloats(name, firstElement, count, dst, dstOff);
  }

  /** See {@link SafetensorsFile#readBytes}. */
  public byte[] readBytes(String name, long byteOffset, int length) throws IOException {
    return fileOf(name).readBytes(name, byteOffset, length);
  }

  /**
   * The model's {@code config.json} (read once, then cached), or an empty object if the model
   * directory has none. A malformed file, or one whose root is not an object, is an error.
   */
  public JsonNode config() throws IOException {
    JsonNode c = config;
    if (c == null) {
      if (modelDir == null) {
        c = JsonNodeFactory.instance.objectNode();
      } else {
        Path p = new Path(modelDir, CONFIG_NAME);
        if (!fs.exists(p)) {
          c = JsonNodeFactory.instance.objectNode();
        } else {
          c = readJsonFile(fs, p, "config");
          if (!c.isObject()) {
            throw CheckpointException.file(p.toString(), "config JSON is "
                + SafetensorsHeader.kind(c) + ", not an object (fix or re-download config.json)");
          }
        }
      }
      config = c;
    }
    return c;
  }

  /**
   * Lowercase hex SHA-256 over, for each shard sorted by name: the name's UTF-8 length (4 bytes)
   * and bytes, the file length (8 bytes), the raw header length (8 bytes) and the raw header (the
   * 8-byte length prefix and the JSON). Reads no tensor data; identifies the model and its layout.
   */
  public String fingerprint() {
    MessageDigest md = org.seedlm.pipeline.Sha256.digest();
    ByteBuffer num = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    for (Map.Entry<String, SafetensorsFile> e : shards.entrySet()) {
      byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
      byte[] raw = e.getValue().rawHeader();
      md.update(num.clear().putInt(name.length).array(), 0, 4);
      md.update(name);
      md.update(num.clear().putLong(e.getValue().length()).array(), 0, 8);
      md.update(num.clear().putLong(raw.length).array(), 0, 8);
      md.update(raw);
    }
    StringBuilder sb = new StringBuilder(64);
    for (byte b : md.digest()) {
      sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
    }
    return sb.toString();
  }

  /** Number of ranged reads {@link #contentFingerprint} makes. */
  public static final int CONTENT_SAMPLES = 256;

  /** Bytes per read of {@link #contentFingerprint} (fewer where a tensor ends sooner). */
  public static final int CONTENT_SAMPLE_BYTES = 64;

  /**
   * Lowercase hex SHA-256 of a fixed sample of the tensors' values, so that two checkpoints with
   * identical headers (a base and an instruct model of one architecture) are told apart. The data
   * sections of all tensors, in name order, are seen as one sequence of {@code T} bytes; sample
   * {@code i} of {@value #CONTENT_SAMPLES} starts at byte {@code i * (T - 1) / (CONTENT_SAMPLES - 1)}
   * (the first and the last byte included) and reads up to {@value #CONTENT_SAMPLE_BYTES} bytes of
   * the tensor it starts in. The digest covers, per sample: the tensor name's UTF-8 length (4 bytes,
   * little-endian) and bytes, the offset in the tensor (8 bytes), the length (4 bytes) and the bytes.
   * At most 256 ranged reads of 16 KiB in total, whatever the model's size: every tensor larger than
   * {@code T / 255} bytes is sampled at least once.
   */
  public String contentFingerprint() throws IOException {
    List<Tensor> list = new ArrayList<>();
    long total = 0;
    for (Tensor t : tensors.values()) {
      if (t.info().byteLength() > 0) {
        list.add(t);
        total += t.info().byteLength();
      }
    }
    MessageDigest md = org.seedlm.pipeline.Sha256.digest();
    ByteBuffer num = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    int ti = 0;
    long before = 0; // data bytes of list[0 .. ti)
    for (int i = 0; i < CONTENT_SAMPLES && total > 0; i++) {
      long at = i * (total - 1) / (CONTENT_SAMPLES - 1);
      while (before + list.get(ti).info().byteLength() <= at) {
        before += list.get(ti).info().byteLength();
        ti++;
      }
      Tensor t = list.get(ti);
      long off = at - before;
      int n = (int) Math.min(CONTENT_SAMPLE_BYTES, t.info().byteLength() - off);
      byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
      md.update(num.clear().putInt(name.length).array(), 0, 4);
      md.update(name);
      md.update(num.clear().putLong(off).array(), 0, 8);
      md.update(num.clear().putInt(n).array(), 0, 4);
      md.update(readBytes(t.name(), off, n));
    }
    return org.seedlm.pipeline.Sha256.hex(md.digest());
  }

  /** Total size in bytes of all shards. */
  public long totalBytes() {
    long n = 0;
    for (SafetensorsFile f : shards.values()) {
      n += f.length();
    }
    return n;
  }

  /** Bytes of the shards fetched from storage so far (headers included; index and config not). */
  public long bytesRead() {
    long n = 0;
    for (SafetensorsFile f : shards.values()) {
      n += f.bytesRead();
    }
    return n;
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (SafetensorsFile f : shards.values()) {
      try {
        f.close();
      } catch (IOException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  @Override
  public String toString() {
    return location.toString();
  }
}
