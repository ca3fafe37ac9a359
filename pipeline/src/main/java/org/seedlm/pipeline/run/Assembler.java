package org.seedlm.pipeline.run;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.ReplacingWrite;
import org.seedlm.pipeline.Sha256;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Bits;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedFormat.TensorMeta;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;
import org.seedlm.pipeline.safetensors.TensorInfo;

/**
 * Assembles the packed model of a complete run into {@code packed/}: the quantized tensors from
 * their committed units' codes, every other tensor copied byte for byte from the checkpoint, the
 * model's small files (config.json, vocab, tokenizer), and {@code manifest.json} with checksums,
 * written last. The output depends only on the committed codes, so assembling twice, or after a
 * resumed run, gives byte-identical files.
 *
 * <p>Two parallel steps: the codes are gathered by as many tasks as there are cores, each a contiguous range of
 * units reading only the {@code block} and {@code code} columns ({@link #planParts}, {@link #writePart}); then
 * the output shards, which are independent, are written from them ({@link #writeShard}), byte for byte what one
 * task gathering every code would write.
 */
public final class Assembler {
  private Assembler() {}

  /** One output file and the stored tensors it holds, in order. */
  public record OutputShard(int index, int count, String file, List<String> tensors, long dataBytes)
      implements Serializable {}

  /**
   * A contiguous range of units (plan order) whose codes one task gathers into {@code packed/_parts/} before the
   * shards are written: the parallel half of assembly.
   */
  public record CodePart(int index, int firstUnit, int numUnits, long bytes) implements Serializable {}

  /** Where the gathered codes wait for the shard writers; removed when assembly finishes. */
  static final String PARTS = "_parts";

  /** What writing a shard produced. */
  public record ShardResult(String file, long bytes, String sha256, Map<String, String> tensorSha256)
      implements Serializable {}

  /**
   * Refuses an incomplete run, listing its missing units; returns the commit markers of a complete one, indexed by
   * unit id (from the commit index with one GET, or read from {@code commits/}), for the driver to hand to the
   * tasks.
   */
  public static List<CommitMarker> checkComplete(RunDirectory run, Plan plan) throws IOException {
    if (!run.hasCommitIndex()) {
      refuseMissing(run, plan, run.committedUnits()); // one listing before reading every marker
    }
    java.util.SortedMap<Integer, CommitMarker> commits = run.readCommits();
    BitSet done = new BitSet();
    commits.keySet().forEach(done::set);
    refuseMissing(run, plan, done);
    return List.copyOf(commits.headMap(plan.numUnits()).values());
  }

  private static void refuseMissing(RunDirectory run, Plan plan, BitSet done) {
    List<Integer> missing = new ArrayList<>();
    for (int i = done.nextClearBit(0); i < plan.numUnits(); i = done.nextClearBit(i + 1)) {
      missing.add(i);
    }
    if (!missing.isEmpty()) {
      StringBuilder list = new StringBuilder();
      for (int i = 0; i < Math.min(20, missing.size()); i++) {
        WorkUnit u = plan.unit(missing.get(i));
        list.append(String.format("%n  unit %d: %s blocks %d..%d", u.id(), u.tensor(), u.firstBlock(),
            u.firstBlock() + u.numBlocks() - 1));
      }
      if (missing.size() > 20) {
        list.append(String.format("%n  ... and %d more", missing.size() - 20));
      }
      throw new IncompleteRunException(String.format(
          "Cannot assemble run %s: %d of %d units are not committed:%s%nRun `seedlm quantize` again on this "
              + "run directory to compute them.", run.root(), missing.size(), plan.numUnits(), list));
    }
  }

  /** Groups all output tensors (sorted by stored name) into shards of at most {@code maxShardBytes}. */
  public static List<OutputShard> planShards(Plan plan, BlockCodec codec, long maxShardBytes) {
    TreeMap<String, Long> sizes = new TreeMap<>();
    for (PlannedTensor t : plan.tensors()) {
      sizes.put(t.name() + PackedFormat.PACKED_SUFFIX, codec.packedBytes(t.numBlocks()));
    }
    return groupShards(withKept(plan, sizes), maxShardBytes);
  }

  /** Adds the stored size of every kept tensor of {@code plan} to {@code sizes} (stored name to data bytes). */
  static TreeMap<String, Long> withKept(Plan plan, TreeMap<String, Long> sizes) {
    for (Plan.KeptTensor k : plan.kept()) {
      sizes.put(k.name(), TensorInfo.numel(k.shape()) * DType.parse(k.dtype()).size());
    }
    return sizes;
  }

  /**
   * Groups stored tensors (name to data bytes, in name order) into shards of at most {@code maxShardBytes}
   * (FORMAT.md §4: greedily, a tensor larger than the limit gets a shard of its own).
   */
  public static List<OutputShard> groupShards(java.util.SortedMap<String, Long> sizes, long maxShardBytes) {
    List<List<String>> groups = new ArrayList<>();
    List<Long> bytes = new ArrayList<>();
    List<String> cur = new ArrayList<>();
    long curBytes = 0;
    for (Map.Entry<String, Long> e : sizes.entrySet()) {
      if (!cur.isEmpty() && curBytes + e.getValue() > maxShardBytes) {
        groups.add(cur);
        bytes.add(curBytes);
        cur = new ArrayList<>();
        curBytes = 0;
      }
      cur.add(e.getKey());
      curBytes += e.getValue();
    }
    groups.add(cur);
    bytes.add(curBytes);
    List<OutputShard> out = new ArrayList<>();
    int n = groups.size();
    for (int i = 0; i < n; i++) {
      String file = n == 1 ? "model.safetensors" : String.format("model-%05d-of-%05d.safetensors", i + 1, n);
      out.add(new OutputShard(i, n, file, groups.get(i), bytes.get(i)));
    }
    return out;
  }

  /**
   * Splits the plan's units into at most {@code tasks} contiguous parts of about equal code bytes (whole units;
   * a part may span tensors).
   */
  public static List<CodePart> planParts(Plan plan, BlockCodec codec, int tasks) {
    if (tasks < 1) {
      throw new IllegalArgumentException("Cannot plan assembly parts: tasks must be positive, got " + tasks);
    }
    long total = 0;
    for (int id = 0; id < plan.numUnits(); id++) {
      total += unitBytes(plan, codec, id);
    }
    List<CodePart> out = new ArrayList<>();
    int first = 0;
    long before = 0;
    long partBytes = 0;
    int slot = 0;
    for (int id = 0; id < plan.numUnits(); id++) {
      long b = unitBytes(plan, codec, id);
      // Unit id goes to slot floor(bytes before it * tasks / total): contiguous, at most `tasks` slots.
      int s = total == 0 ? 0 : (int) (before * tasks / total);
      if (s != slot && id > first) {
        out.add(new CodePart(out.size(), first, id - first, partBytes));
        first = id;
        partBytes = 0;
      }
      slot = s;
      partBytes += b;
      before += b;
    }
    if (plan.numUnits() > first) {
      out.add(new CodePart(out.size(), first, plan.numUnits() - first, partBytes));
    }
    return out;
  }

  /**
   * Gathers the codes of a part's units into {@code packed/_parts/part-NNNNN}, reading only the {@code block} and
   * {@code code} columns of each unit's committed file, and checks every unit against its commit marker (row
   * count, block order, SHA-256 of the codes). {@code markers} are the part's units' commit markers, in unit order
   * (from {@link #checkComplete}: a task reads no marker).
   */
  public static void writePart(RunDirectory run, Plan plan, BlockCodec codec, CodePart part,
      List<CommitMarker> markers) throws IOException {
    if (markers.size() != part.numUnits()) {
      throw new IllegalArgumentException("part " + part.index() + " has " + part.numUnits() + " units, got "
          + markers.size() + " markers");
    }
    Path p = partPath(run, part.index());
    try (FSDataOutputStream out = run.fs().create(p, true)) {
      for (int k = 0; k < part.numUnits(); k++) {
        out.write(unitCodes(run, plan, codec, part.firstUnit() + k, markers.get(k)));
      }
    }
  }

  /** The commit markers of a part's units, from all the run's markers indexed by unit id. */
  public static List<CommitMarker> markersOf(CodePart part, List<CommitMarker> markers) {
    return List.copyOf(markers.subList(part.firstUnit(), part.firstUnit() + part.numUnits()));
  }

  /**
   * Each quantized tensor's exponent offsets as stored in its metadata ({@link PackedFormat#encodeOffsets}), from
   * the run's commit markers indexed by unit id (computed on the driver); empty for a codec without offsets.
   */
  public static Map<String, String> tensorOffsets(RunDirectory run, Plan plan, BlockCodec codec,
      List<CommitMarker> markers) throws IOException {
    Map<String, String> out = new TreeMap<>();
    if (codec.groupBlocks() != 0) {
      for (PlannedTensor t : plan.tensors()) {
        out.put(t.name(), tensorOffsets(run, plan, codec, t, markers));
      }
    }
    return out;
  }

  /**
   * Writes one output shard under {@code packed/}; packed tensors are copied from the parts, their exponent
   * offsets taken from {@code offsets} ({@link #tensorOffsets(RunDirectory, Plan, BlockCodec, List)}).
   */
  public static ShardResult writeShard(RunDirectory run, String modelDir, RunSpec spec, Plan plan, BlockCodec codec,
      List<CodePart> parts, OutputShard shard, Map<String, String> offsets, Configuration conf) throws IOException {
    return writePackedShard(run, shard, PackedFormat.versionFor(codec), (w, stored, digest) -> {
      if (stored.endsWith(PackedFormat.PACKED_SUFFIX)) {
        PlannedTensor t = plan.tensor(stored.substring(0, stored.length() - PackedFormat.PACKED_SUFFIX.length()));
        TensorMeta meta = new TensorMeta(codec.name(), codec.params(), codec.blockSize(), codec.bitsPerBlock(),
            t.numBlocks(), t.shape(), t.dtype(), 0, offsets.get(t.name()));
        w.metadata(PackedFormat.KEY_TENSOR_PREFIX + t.name(), meta.toJson());
        w.add(stored, DType.U8, new long[] {meta.packedBytes()},
            out -> copyCodes(run, plan, codec, parts, t.firstUnit(), t.numUnits(), digest.apply(out)));
      } else {
        addKept(w, plan, modelDir, stored, conf, digest);
      }
    });
  }

  /** Adds kept tensor {@code stored} to a packed shard, copied byte for byte from the checkpoint. */
  static void addKept(SafetensorsWriter w, Plan plan, String modelDir, String stored, Configuration conf,
      java.util.function.UnaryOperator<OutputStream> digest) {
    Plan.KeptTensor k = plan.kept().stream().filter(x -> x.name().equals(stored)).findFirst().orElseThrow();
    w.add(stored, DType.parse(k.dtype()), k.shape(),
        out -> copyTensor(new Path(new Path(modelDir), k.shard()), k.name(), conf, digest.apply(out)));
  }

  /** Adds one stored tensor (and its metadata) to a packed shard, its data written through {@code digest}. */
  @FunctionalInterface
  public interface StoredTensorSource {
    void add(SafetensorsWriter w, String stored, java.util.function.UnaryOperator<OutputStream> digest)
        throws IOException;
  }

  /**
   * Writes a packed shard under {@code run}'s {@code packed/} (format metadata with format {@code version}, then
   * each stored tensor as {@code source} adds it), crash-safe, with the SHA-256 of the file and of each tensor's
   * data.
   */
  public static ShardResult writePackedShard(RunDirectory run, OutputShard shard, int version,
      StoredTensorSource source)
      throws IOException {
    SafetensorsWriter w = new SafetensorsWriter()
        .metadata("format", "pt")
        .metadata(PackedFormat.KEY_FORMAT, PackedFormat.FORMAT_NAME)
        .metadata(PackedFormat.KEY_VERSION, Integer.toString(version));
    Map<String, MessageDigest> digests = new LinkedHashMap<>();
    for (String stored : shard.tensors()) {
      MessageDigest md = Sha256.digest();
      digests.put(stored, md);
      source.add(w, stored, out -> new DigestOutputStream(out, md));
    }
    ReplacingWrite.Written file = ReplacingWrite.write(run.fs(), new Path(run.path(RunDirectory.PACKED), shard.file()),
        w::writeTo);
    Map<String, String> tensorSha = new TreeMap<>();
    digests.forEach((k, v) -> tensorSha.put(k, Sha256.hex(v.digest())));
    return new ShardResult(shard.file(), file.bytes(), file.sha256(), tensorSha);
  }

  /** Writes the index (for several shards), copies the model's side files, then the manifest. */
  public static void finish(RunDirectory run, String modelDir, RunSpec spec, Plan plan, List<OutputShard> shards,
      List<ShardResult> results, Configuration conf) throws IOException {
    finish(run, modelDir, spec, PackedFormat.versionFor(spec.groupBlocks()), plan, shards, results, conf);
  }

  /** As above, for a model written as packed format {@code version} (a mixed model: its newest tensors'). */
  public static void finish(RunDirectory run, String modelDir, RunSpec spec, int version, Plan plan,
      List<OutputShard> shards, List<ShardResult> results, Configuration conf) throws IOException {
    Path dir = run.path(RunDirectory.PACKED);
    FileSystem fs = run.fs();
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("format", PackedFormat.FORMAT_NAME);
    manifest.put("format_version", version);
    manifest.put("codec", spec.codec());
    manifest.put("codec_params", spec.codecParams());
    manifest.put("model_fingerprint", spec.modelFingerprint());
    manifest.put("quantized_tensors", plan.tensors().size());
    manifest.put("kept_tensors", plan.kept().size());
    Map<String, Object> files = new TreeMap<>();
    Map<String, String> tensors = new TreeMap<>();
    for (ShardResult r : results) {
      files.put(r.file(), Map.of("bytes", r.bytes(), "sha256", r.sha256()));
      tensors.putAll(r.tensorSha256());
    }
    if (shards.size() > 1) {
      Map<String, Object> index = new LinkedHashMap<>();
      long total = results.stream().mapToLong(ShardResult::bytes).sum();
      index.put("metadata", Map.of("total_size", total, PackedFormat.KEY_FORMAT, PackedFormat.FORMAT_NAME));
      Map<String, String> weightMap = new TreeMap<>();
      for (OutputShard s : shards) {
        for (String t : s.tensors()) {
          weightMap.put(t, s.file());
        }
      }
      index.put("weight_map", weightMap);
      Path ip = new Path(dir, "model.safetensors.index.json");
      run.writeJson(ip, index);
      files.put(ip.getName(), Map.of("bytes", fs.getFileStatus(ip).getLen(), "sha256", sha256Of(fs, ip)));
    }
    Path src = new Path(modelDir);
    FileSystem srcFs = src.getFileSystem(conf);
    for (FileStatus s : Checkpoint.sideFiles(srcFs, src)) {
      String name = s.getPath().getName();
      Path dst = new Path(dir, name);
      FileUtil.copy(srcFs, s.getPath(), fs, dst, false, true, conf);
      files.put(name, Map.of("bytes", s.getLen(), "sha256", sha256Of(fs, dst)));
    }
    fs.delete(new Path(dir, PARTS), true);
    manifest.put("files", files);
    manifest.put("tensor_sha256", tensors);
    run.writeJsonReplacing(new Path(dir, PackedFormat.MANIFEST), manifest);
  }

  /** Assembles a complete run on one machine with one part (see the other overload). */
  public static List<ShardResult> assembleLocally(RunDirectory run, RunSpec spec, Plan plan, BlockCodec codec,
      long maxShardBytes, Configuration conf) throws IOException {
    return assembleLocally(run, spec, plan, codec, maxShardBytes, 1, conf);
  }

  /**
   * Assembles a complete run on one machine, one step after the other, what an engine does in parallel: the codes
   * in {@code tasks} parts ({@link #writePart}), then each shard ({@link #writeShard}), then {@link #finish}.
   */
  public static List<ShardResult> assembleLocally(RunDirectory run, RunSpec spec, Plan plan, BlockCodec codec,
      long maxShardBytes, int tasks, Configuration conf) throws IOException {
    List<CommitMarker> markers = checkComplete(run, plan);
    Map<String, String> offsets = tensorOffsets(run, plan, codec, markers);
    prepare(run);
    List<CodePart> parts = planParts(plan, codec, tasks);
    for (CodePart p : parts) {
      writePart(run, plan, codec, p, markersOf(p, markers));
    }
    List<OutputShard> shards = planShards(plan, codec, maxShardBytes);
    List<ShardResult> results = new ArrayList<>();
    for (OutputShard s : shards) {
      results.add(writeShard(run, spec.model(), spec, plan, codec, parts, s, offsets, conf));
    }
    finish(run, spec.model(), spec, plan, shards, results, conf);
    return results;
  }

  /** Clears an earlier assembly so a new one leaves no stale shard behind. */
  public static void prepare(RunDirectory run) throws IOException {
    Path dir = run.path(RunDirectory.PACKED);
    run.fs().delete(dir, true);
    run.fs().mkdirs(dir);
  }

  private static long unitBytes(Plan plan, BlockCodec codec, int id) {
    return codec.packedBytes(plan.unit(id).numBlocks());
  }

  private static Path partPath(RunDirectory run, int index) {
    return new Path(new Path(run.path(RunDirectory.PACKED), PARTS), String.format("part-%05d", index));
  }

  /** One committed unit's packed codes, checked against the plan and its commit marker. */
  private static byte[] unitCodes(RunDirectory run, Plan plan, BlockCodec codec, int id, CommitMarker m)
      throws IOException {
    int bits = codec.bitsPerBlock();
    WorkUnit u = plan.unit(id);
    if (m.unit() != id) {
      throw new IllegalArgumentException("the marker of unit " + m.unit() + " was given for unit " + id);
    }
    BlockTable.Codes rows = BlockTable.readCodes(run.path(m.file()), run.conf());
    if (rows.size() != u.numBlocks() || m.rows() != u.numBlocks()) {
      throw new IOException(String.format("Cannot assemble %s: unit %d has %d rows, its commit says %d and "
          + "the plan %d (delete %s to recompute it)", u.tensor(), id, rows.size(), m.rows(), u.numBlocks(),
          run.commitPath(id)));
    }
    byte[] buf = new byte[(int) codec.packedBytes(u.numBlocks())];
    for (int b = 0; b < rows.size(); b++) {
      if (rows.block(b) != u.firstBlock() + b) {
        throw new IOException(String.format("Cannot assemble %s: unit %d row %d is block %d, expected %d",
            u.tensor(), id, b, rows.block(b), u.firstBlock() + b));
      }
      if (bits % 8 == 0) {
        System.arraycopy(rows.code(b), 0, buf, b * (bits / 8), bits / 8);
      } else {
        Bits.copy(rows.code(b), 0, buf, (long) b * bits, bits);
      }
    }
    String sha = Sha256.of(buf);
    if (!sha.equals(m.codeSha256())) {
      throw new IOException(String.format("Cannot assemble %s: unit %d's codes do not match the checksum in "
          + "its commit marker (%s); the file %s is damaged (delete %s to recompute the unit)", u.tensor(), id,
          m.codeSha256(), m.file(), run.commitPath(id)));
    }
    return buf;
  }

  /** Copies the gathered codes of units {@code first .. first+count} from the parts that hold them. */
  private static void copyCodes(RunDirectory run, Plan plan, BlockCodec codec, List<CodePart> parts, int first,
      int count, OutputStream out) throws IOException {
    int id = first;
    for (CodePart p : parts) {
      int end = Math.min(first + count, p.firstUnit() + p.numUnits());
      if (id >= first + count || end <= id) {
        continue;
      }
      long off = 0;
      for (int u = p.firstUnit(); u < id; u++) {
        off += unitBytes(plan, codec, u);
      }
      long len = 0;
      for (int u = id; u < end; u++) {
        len += unitBytes(plan, codec, u);
      }
      try (FSDataInputStream in = run.fs().open(partPath(run, p.index()))) {
        in.seek(off);
        byte[] buf = new byte[1 << 20];
        for (long left = len; left > 0; ) {
          int n = in.read(buf, 0, (int) Math.min(buf.length, left));
          if (n < 0) {
            throw new IOException("Cannot assemble: " + partPath(run, p.index()) + " ends early");
          }
          out.write(buf, 0, n);
          left -= n;
        }
      }
      id = end;
    }
    if (id != first + count) {
      throw new IllegalStateException("units " + id + ".." + (first + count - 1) + " are in no assembly part");
    }
  }

  /**
   * A tensor's exponent offsets as stored in its metadata ({@link PackedFormat#encodeOffsets}): its units'
   * offsets from their commit markers (indexed by unit id), in unit order (units hold whole groups).
   */
  private static String tensorOffsets(RunDirectory run, Plan plan, BlockCodec codec, PlannedTensor t,
      List<CommitMarker> markers) throws IOException {
    int g = codec.groupBlocks();
    int[] all = new int[Math.toIntExact((t.numBlocks() + g - 1) / g)];
    int n = 0;
    for (int id = t.firstUnit(); id < t.firstUnit() + t.numUnits(); id++) {
      WorkUnit u = plan.unit(id);
      CommitMarker m = markers.get(id);
      int[] o = m.offsetArray();
      if (m.offsets() == null || o.length != (u.numBlocks() + g - 1) / g || u.firstBlock() != (long) n * g) {
        throw new IOException(String.format("Cannot assemble %s: unit %d's commit marker records %s exponent "
            + "offsets, its %d blocks from block %d need %d (delete %s to recompute the unit)", t.name(), id,
            m.offsets() == null ? "no" : Integer.toString(o.length), u.numBlocks(), u.firstBlock(),
            (u.numBlocks() + g - 1) / g, run.commitPath(id)));
      }
      System.arraycopy(o, 0, all, n, o.length);
      n += o.length;
    }
    return PackedFormat.encodeOffsets(all);
  }

  private static void copyTensor(Path shard, String name, Configuration conf, OutputStream out) throws IOException {
    UnitRunner.open(shard, conf).copyTo(name, out);
  }

  private static String sha256Of(FileSystem fs, Path p) throws IOException {
    MessageDigest md = Sha256.digest();
    try (var in = fs.open(p)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return Sha256.hex(md.digest());
  }
}
