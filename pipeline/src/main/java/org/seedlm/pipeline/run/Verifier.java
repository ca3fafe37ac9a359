package org.seedlm.pipeline.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.Sha256;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Bits;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.decode.SeedLmDecoder;
import org.seedlm.pipeline.metrics.ErrorStats;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedFormat.TensorMeta;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * Verification of a run's packed model, engine-free: {@link #items} lists what to check (every file of
 * {@code RUN/packed/manifest.json}, every stored tensor), {@link #check} checks one of them, and
 * {@link #summarize} adds the results up. A Spark job runs {@code check} once per item, in parallel.
 *
 * <ul>
 *   <li>every file of {@code RUN/packed/manifest.json}: its size and SHA-256;
 *   <li>every stored tensor: the SHA-256 of its data bytes against {@code tensor_sha256};
 *   <li>every quantized tensor, unit by unit (the committed units of the run): each block's packed
 *       bits equal the {@code code} recorded in the unit's Parquet rows; the block decodes (with the
 *       fast {@link SeedLmDecoder} for SeedLM, the codec's canonical decoder otherwise) and its
 *       squared error against the original weights, read exactly as quantize read them
 *       ({@link UnitRunner#readWeights}: byte ranges of the run spec's model, the run's non-finite policy),
 *       is recomputed as the run computed it ({@link ErrorStats#squaredError}, float64, index order), brought
 *       into the stored form of the run's layout ({@link BlockTable#storedSqErr}: rounded to the nearest
 *       float32 in layout 2, float64 in layout 1) and must EQUAL the recorded {@code sq_err} bit for bit; every
 *       block of the tensor has exactly one row;
 *   <li>a tensor of a tensor-level codec ({@link TensorCodec}): its one unit's one row holds the packed bytes as
 *       {@code code}, the whole tensor decodes with {@link TensorCodec#decode} and its recomputed squared error
 *       equals the recorded {@code sq_err} in the same way.
 * </ul>
 *
 * Every mismatch is reported with its tensor and block; none means the run verified.
 */
public final class Verifier {
  private Verifier() {}

  /** Problems reported per file or tensor before the rest are only counted. */
  public static final int MAX_PROBLEMS_PER_ITEM = 20;

  /**
   * A committed unit of a tensor: its shard, blocks, Parquet file (relative to the run) and the SHA-256 of the
   * checkpoint bytes it read (null: not recorded by the marker).
   */
  public record UnitRef(int unit, String shard, long firstBlock, int rows, String file, String inputSha256)
      implements Serializable {}

  /**
   * One check: a file of the packed model ({@code tensor == false}) or a stored tensor.
   *
   * @param name file name, or stored tensor name
   * @param sha256 the manifest's checksum (null if the manifest has none)
   * @param bytes the manifest's file size (files only)
   * @param units the tensor's committed units, by first block (quantized tensors only)
   */
  public record Item(boolean tensor, String name, String sha256, long bytes, List<UnitRef> units)
      implements Serializable {}

  /** What one check found. */
  public record ItemResult(Item item, long blocks, double maxAbsDiff, List<String> problems, double seconds)
      implements Serializable {}

  /**
   * What to check and what is wrong already before any check runs (manifest entries that are not part of the
   * plan, or stored tensors the manifest lacks), and what cannot be checked because the run does not record it
   * ({@code notes}: a run made by an older seedlm; one line per kind, not per unit).
   */
  public record Items(List<Item> items, int files, int storedTensors, int quantizedTensors, long blocks,
      List<String> problems, List<String> notes) {}

  /**
   * The outcome of a verification.
   *
   * @param files files checked
   * @param tensors stored tensors checked
   * @param quantized quantized tensors decoded
   * @param blocks blocks whose code and error were compared
   * @param maxAbsDiff largest |recorded sq_err - recomputed sq_err| (0 when all are equal)
   * @param problems every mismatch, one line each (tensor and block named)
   */
  public record Result(int files, int tensors, int quantized, long blocks, double maxAbsDiff, List<String> problems) {
    public boolean ok() {
      return problems.isEmpty();
    }
  }

  /** Lists the checks of an assembled run; refuses a run that is incomplete or not assembled. */
  public static Items items(RunDirectory run) throws IOException {
    Plan plan = run.readPlan();
    List<CommitMarker> commits = Assembler.checkComplete(run, plan);
    TreeMap<String, List<UnitRef>> units = new TreeMap<>();
    int noInputHash = 0;
    for (CommitMarker m : commits) {
      units.computeIfAbsent(m.tensor(), x -> new ArrayList<>()).add(new UnitRef(m.unit(),
          plan.unit(m.unit()).shard(), m.firstBlock(), m.rows(), m.file(), m.inputSha256()));
      noInputHash += m.inputSha256() == null ? 1 : 0;
    }
    List<String> notes = new ArrayList<>(run.readSpec().notRecorded());
    if (noInputHash > 0) {
      notes.add(String.format("%d of %d commit markers record no input hash (written by an older seedlm): "
          + "those units' checkpoint bytes are checked only through the recomputed errors", noInputHash,
          commits.size()));
    }
    units.values().forEach(l -> l.sort((a, b) -> Long.compare(a.firstBlock(), b.firstBlock())));
    TreeMap<String, List<UnitRef>> stored = new TreeMap<>();
    plan.tensors().forEach(t -> stored.put(t.name() + PackedFormat.PACKED_SUFFIX,
        units.getOrDefault(t.name(), List.of())));
    plan.kept().forEach(k -> stored.put(k.name(), List.of()));
    return items(run, stored, plan.tensors().size(), plan.numBlocks(), notes);
  }

  /**
   * The checks of a run's packed model given what it should store: every file of its manifest, and every
   * stored tensor with its committed units ({@link UnitRef#file} relative to the run, or a full path).
   */
  public static Items items(RunDirectory run, java.util.SortedMap<String, List<UnitRef>> stored, int quantized,
      long blocks, List<String> notes) throws IOException {
    Path manifestPath = new Path(run.path(RunDirectory.PACKED), PackedFormat.MANIFEST);
    if (!run.fs().exists(manifestPath)) {
      throw new FileNotFoundException(String.format(
          "Cannot verify run %s: no %s/%s (run `seedlm assemble` first)", run.root(), RunDirectory.PACKED,
          PackedFormat.MANIFEST));
    }
    JsonNode manifest;
    try (InputStream in = run.fs().open(manifestPath)) {
      manifest = RunDirectory.json().readTree(in);
    }
    List<String> problems = new ArrayList<>();
    List<Item> items = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = manifest.path("files").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      items.add(new Item(false, e.getKey(), e.getValue().path("sha256").asText(null),
          e.getValue().path("bytes").asLong(-1), List.of()));
    }
    TreeMap<String, String> expectedSha = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = manifest.path("tensor_sha256").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      expectedSha.put(e.getKey(), e.getValue().asText());
    }
    for (Map.Entry<String, List<UnitRef>> e : stored.entrySet()) {
      String sha = expectedSha.get(e.getKey());
      if (sha == null) {
        problems.add(String.format("tensor %s: missing from manifest.json tensor_sha256", e.getKey()));
      }
      items.add(new Item(true, e.getKey(), sha, -1, List.copyOf(e.getValue())));
    }
    for (String name : expectedSha.keySet()) {
      if (!stored.containsKey(name)) {
        problems.add(String.format("tensor %s: listed in manifest.json but not part of the run's plan", name));
      }
    }
    return new Items(List.copyOf(items), items.size() - stored.size(), stored.size(), quantized,
        blocks, List.copyOf(problems), List.copyOf(notes));
  }

  /** Adds up the results of every item, after the problems {@link #items} found. */
  public static Result summarize(Items items, List<ItemResult> results) {
    List<String> problems = new ArrayList<>(items.problems());
    int files = 0;
    int tensors = 0;
    int quantized = 0;
    long blocks = 0;
    double maxAbsDiff = 0;
    for (ItemResult r : results) {
      if (r.item().tensor()) {
        tensors++;
        if (r.item().name().endsWith(PackedFormat.PACKED_SUFFIX)) {
          quantized++;
        }
      } else {
        files++;
      }
      blocks += r.blocks();
      maxAbsDiff = Math.max(maxAbsDiff, r.maxAbsDiff());
      problems.addAll(r.problems());
    }
    return new Result(files, tensors, quantized, blocks, maxAbsDiff, List.copyOf(problems));
  }

  public static ItemResult check(Item item, String runDir, RunSpec spec, Configuration conf) {
    long t0 = System.nanoTime();
    Problems problems = new Problems(item);
    long[] blocks = {0};
    double[] maxAbsDiff = {0};
    try {
      RunDirectory run = RunDirectory.at(runDir, conf);
      Path packedDir = run.path(RunDirectory.PACKED);
      if (!item.tensor()) {
        checkFile(run.fs(), new Path(packedDir, item.name()), item, problems);
      } else {
        try (PackedModel pm = PackedModel.open(packedDir, conf)) {
          checkTensor(run, spec, pm, item, problems, blocks, maxAbsDiff, conf);
        }
      }
    } catch (IOException | RuntimeException e) {
      problems.add(String.format("cannot be checked: %s", e.getMessage() == null ? e : e.getMessage()));
    }
    return new ItemResult(item, blocks[0], maxAbsDiff[0], problems.list(), (System.nanoTime() - t0) / 1e9);
  }

  private static void checkFile(FileSystem fs, Path p, Item item, Problems problems) throws IOException {
    if (!fs.exists(p)) {
      problems.add("is listed in manifest.json but missing");
      return;
    }
    MessageDigest md = Sha256.digest();
    long n = 0;
    byte[] buf = new byte[1 << 20];
    try (InputStream in = fs.open(p)) {
      for (int r = in.read(buf); r >= 0; r = in.read(buf)) {
        md.update(buf, 0, r);
        n += r;
      }
    }
    String sha = Sha256.hex(md.digest());
    if (n != item.bytes()) {
      problems.add(String.format("has %d bytes, manifest.json says %d", n, item.bytes()));
    }
    if (!sha.equals(item.sha256())) {
      problems.add(String.format("sha256 %s differs from manifest.json's %s (the file was modified)", sha,
          item.sha256()));
    }
  }

  private static void checkTensor(RunDirectory run, RunSpec spec, PackedModel pm, Item item, Problems problems,
      long[] blocksChecked, double[] maxAbsDiff, Configuration conf) throws IOException {
    String stored = item.name();
    if (!stored.endsWith(PackedFormat.PACKED_SUFFIX) || !pm.quantized().containsKey(baseName(stored))) {
      checkShaOfKept(pm.checkpoint(), stored, item, problems);
      return;
    }
    String name = baseName(stored);
    TensorMeta meta = pm.quantized().get(name);
    byte[] packed = pm.packedBytes(name);
    String sha = Sha256.of(packed);
    if (!sha.equals(item.sha256())) {
      problems.add(String.format("sha256 %s differs from manifest.json's %s (the packed data was modified)", sha,
          item.sha256()));
    }
    if (meta.isTensorCodec()) {
      checkEncodedTensor(run, spec, pm, name, meta, packed, item, problems, blocksChecked, maxAbsDiff, conf);
      return;
    }
    BlockCodec codec = pm.codec(name);
    int c = codec.blockSize();
    int bits = codec.bitsPerBlock();
    SeedLmDecoder fast = codec instanceof SeedLmCodec s ? SeedLmDecoder.of(s.seedLmParams()) : null;
    int[] offsets = meta.offsetValues();
    BitSet seen = new BitSet();
    for (UnitRef u : item.units()) {
      List<BlockRow> rows = BlockTable.read(run.path(u.file()), conf);
      if (rows.size() != u.rows()) {
        problems.add(String.format("unit %d: %s has %d rows, its commit marker says %d", u.unit(), u.file(),
            rows.size(), u.rows()));
      }
      int nb = u.rows();
      if (u.firstBlock() < 0 || u.firstBlock() + nb > meta.blocks()) {
        problems.add(String.format("unit %d: blocks %d..%d are outside the tensor's %d blocks", u.unit(),
            u.firstBlock(), u.firstBlock() + nb - 1, meta.blocks()));
        continue;
      }
      WorkUnit wu = new WorkUnit(u.unit(), name, u.shard(), u.firstBlock(), nb);
      UnitRunner.UnitWeights in = UnitRunner.readWeights(spec.model(), wu, c, spec.nonFinite(), conf);
      checkInput(spec, u, nb, in, problems);
      float[] w = in.weights();
      int count = in.count();
      float[] what = new float[nb * c];
      boolean decoded = decode(fast, codec, packed, offsets, meta.groupBlocks(), u.firstBlock(), nb, what, problems);
      for (BlockRow row : rows) {
        long block = row.block();
        int b = (int) (block - u.firstBlock());
        if (b < 0 || b >= nb) {
          problems.add(String.format("block %d: recorded in unit %d, which holds blocks %d..%d", block, u.unit(),
              u.firstBlock(), u.firstBlock() + nb - 1));
          continue;
        }
        if (seen.get((int) block)) {
          problems.add(String.format("block %d: recorded more than once", block));
        }
        seen.set((int) block);
        blocksChecked[0]++;
        byte[] code = new byte[(bits + 7) / 8];
        Bits.copy(packed, block * bits, code, 0, bits);
        if (!Arrays.equals(code, row.code())) {
          problems.add(String.format("block %d: packed code %s differs from the recorded code %s", block,
              HexFormat.of().formatHex(code), HexFormat.of().formatHex(row.code())));
        }
        int n = Math.min(c, count - b * c);
        if (row.n() != n) {
          problems.add(String.format("block %d: recorded n=%d, the tensor's shape gives %d", block, row.n(), n));
          continue;
        }
        if (!decoded) {
          continue;
        }
        checkSqErr(spec, row, ErrorStats.squaredError(w, b * c, what, b * c, n), maxAbsDiff, problems);
      }
    }
    if (seen.cardinality() != meta.blocks()) {
      int missing = seen.nextClearBit(0);
      problems.add(String.format("%d of %d blocks have no recorded row (first: block %d)",
          meta.blocks() - seen.cardinality(), meta.blocks(), missing));
    }
  }

  /**
   * A tensor of a tensor-level codec ({@link TensorMeta#isTensorCodec}): one unit of one row, whose {@code code}
   * must equal the packed bytes; the whole tensor is decoded with {@link TensorCodec#decode} and its squared error
   * recomputed against the original weights must equal the recorded {@code sq_err}, as for a block.
   */
  private static void checkEncodedTensor(RunDirectory run, RunSpec spec, PackedModel pm, String name,
      TensorMeta meta, byte[] packed, Item item, Problems problems, long[] blocksChecked, double[] maxAbsDiff,
      Configuration conf) throws IOException {
    TensorCodec codec = pm.tensorCodec(name);
    if (item.units().size() != 1) {
      problems.add(String.format("has %d committed units; a tensor codec's tensor is exactly one",
          item.units().size()));
      return;
    }
    UnitRef u = item.units().get(0);
    List<BlockRow> rows = BlockTable.read(run.path(u.file()), conf);
    if (rows.size() != 1 || u.rows() != 1 || u.firstBlock() != 0) {
      problems.add(String.format("unit %d: %s has %d rows (its commit marker says %d, first block %d); a tensor "
          + "codec's unit is one row, block 0", u.unit(), u.file(), rows.size(), u.rows(), u.firstBlock()));
      return;
    }
    BlockRow row = rows.get(0);
    blocksChecked[0]++;
    if (!Arrays.equals(packed, row.code())) {
      problems.add(String.format("packed bytes (%d, SHA-256 %s) differ from the recorded code (%d, SHA-256 %s)",
          packed.length, Sha256.of(packed), row.code().length, Sha256.of(row.code())));
    }
    int[] rc = TensorCodec.matrixShape(meta.shape());
    int numel = Math.multiplyExact(rc[0], rc[1]);
    if (row.n() != numel) {
      problems.add(String.format("recorded n=%d, the tensor's shape gives %d", row.n(), numel));
      return;
    }
    UnitRunner.UnitWeights in = UnitRunner.readWeights(spec.model(), new WorkUnit(u.unit(), name, u.shard(), 0, 1),
        numel, spec.nonFinite(), conf);
    checkInput(spec, u, 1, in, problems);
    float[] what;
    try {
      what = codec.decode(packed, rc[0], rc[1]);
    } catch (IllegalArgumentException e) {
      problems.add("does not decode: " + e.getMessage());
      return;
    }
    checkSqErr(spec, row, ErrorStats.squaredError(in.weights(), 0, what, 0, numel), maxAbsDiff, problems);
  }

  /** Reports a unit whose checkpoint bytes changed since quantize (when its marker records their SHA-256). */
  private static void checkInput(RunSpec spec, UnitRef u, int nb, UnitRunner.UnitWeights in, Problems problems) {
    if (u.inputSha256() != null && !u.inputSha256().equals(in.sha256())) {
      problems.add(String.format("unit %d (blocks %d..%d, shard %s): the checkpoint bytes it reads now have "
              + "SHA-256 %s, its commit marker recorded %s when it was quantized (the checkpoint at %s changed "
              + "after quantize: quantize the current checkpoint into a new run directory, or restore the "
              + "original one)", u.unit(), u.firstBlock(), u.firstBlock() + nb - 1, u.shard(), in.sha256(),
          u.inputSha256(), spec.model()));
    }
  }

  /** Compares a row's recorded {@code sq_err} with the recomputed one, in the stored form of the run's layout. */
  private static void checkSqErr(RunSpec spec, BlockRow row, double sqErr, double[] maxAbsDiff, Problems problems) {
    double err = BlockTable.storedSqErr(sqErr, spec.version());
    if (Double.doubleToLongBits(err) != Double.doubleToLongBits(row.sqErr())) {
      double d = Math.abs(err - row.sqErr());
      maxAbsDiff[0] = Math.max(maxAbsDiff[0], Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
      problems.add(String.format("block %d: recorded sq_err %s, recomputed from the packed model %s "
          + "(|difference| %.3g)", row.block(), row.sqErr(), err, d));
    }
  }

  /** Decodes a slice; on a block the decoder refuses (seed 0), reports it and returns false. */
  private static boolean decode(SeedLmDecoder fast, BlockCodec codec, byte[] packed, int[] offsets, int groupBlocks,
      long firstBlock, int nBlocks, float[] out, Problems problems) {
    try {
      if (fast != null) {
        fast.decode(packed, firstBlock, nBlocks, offsets, groupBlocks, out, 0);
      } else {
        codec.decode(packed, firstBlock * codec.bitsPerBlock(), nBlocks, out, 0);
      }
      return true;
    } catch (IllegalArgumentException e) {
      problems.add("does not decode: " + e.getMessage());
      return false;
    }
  }

  private static void checkShaOfKept(Checkpoint packed, String stored, Item item, Problems problems)
      throws IOException {
    long len = packed.info(stored).byteLength();
    MessageDigest md = Sha256.digest();
    for (long off = 0; off < len; off += 1 << 23) {
      md.update(packed.readBytes(stored, off, (int) Math.min(1 << 23, len - off)));
    }
    String sha = Sha256.hex(md.digest());
    if (!sha.equals(item.sha256())) {
      problems.add(String.format("sha256 %s differs from manifest.json's %s", sha, item.sha256()));
    }
  }

  private static String baseName(String stored) {
    return stored.endsWith(PackedFormat.PACKED_SUFFIX)
        ? stored.substring(0, stored.length() - PackedFormat.PACKED_SUFFIX.length()) : stored;
  }

  /** Problem lines of one item, prefixed with what it is, capped at {@link #MAX_PROBLEMS_PER_ITEM}. */
  private static final class Problems {
    private final String prefix;
    private final List<String> list = new ArrayList<>();
    private int dropped;

    Problems(Item item) {
      String n = item.name();
      this.prefix = !item.tensor() ? "file " + n + ": "
          : n.endsWith(PackedFormat.PACKED_SUFFIX) ? "tensor " + baseName(n) + " (stored as " + n + "): "
          : "tensor " + n + ": ";
    }

    void add(String s) {
      if (list.size() < MAX_PROBLEMS_PER_ITEM) {
        list.add(prefix + s);
      } else {
        dropped++;
      }
    }

    List<String> list() {
      List<String> out = new ArrayList<>(list);
      if (dropped > 0) {
        out.add(prefix + "... and " + dropped + " more mismatches");
      }
      return out;
    }
  }
}
