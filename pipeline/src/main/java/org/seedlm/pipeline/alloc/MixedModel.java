package org.seedlm.pipeline.alloc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.pack.PackedFormat;
import org.seedlm.pipeline.pack.PackedModel;
import org.seedlm.pipeline.run.Assembler;
import org.seedlm.pipeline.run.CommitMarker;
import org.seedlm.pipeline.run.Plan;
import org.seedlm.pipeline.run.RunDirectory;
import org.seedlm.pipeline.run.RunSpec;
import org.seedlm.pipeline.run.Verifier;
import org.seedlm.pipeline.safetensors.SafetensorsFile;

/**
 * A mixed packed model: each quantized tensor from the assembled packed model of the run that
 * {@code seedlm allocate} chose for it, nothing searched again. Stored as a directory
 * {@code RUN/allocation.json} (which tensor comes from which source run) and {@code RUN/packed/}, an
 * ordinary packed model (FORMAT.md; every tensor's metadata names its own codec) with its manifest, so that
 * everything that reads a packed model reads it. Each packed tensor's bytes and its {@code seedlm.tensor.T}
 * metadata are copied verbatim from its source; kept tensors and side files come from the first source.
 *
 * <p>{@link #verifyItems} lets {@code verify} check it like a run: the manifest, and every quantized tensor's
 * packed bits and recomputed errors against the committed Parquet rows of its source run.
 */
public final class MixedModel {
  private MixedModel() {}

  /** The allocation file of a mixed run. */
  public static final String ALLOCATION = "allocation.json";
  public static final String FORMAT = "seedlm-allocation";
  public static final int VERSION = 1;
  /** The codec name a mixed packed model's manifest gives. */
  public static final String CODEC = "mixed";

  /** What {@code allocation.json} holds: the source runs and, per quantized tensor, its source's index. */
  public record Allocation(String format, int version, String modelFingerprint, long targetBits, long bits,
      List<String> sources, Map<String, Integer> tensors) {}

  /** Whether a run directory holds a mixed model. */
  public static boolean isMixed(RunDirectory run) throws IOException {
    return run.fs().exists(run.path(ALLOCATION));
  }

  public static Allocation read(RunDirectory run) throws IOException {
    return run.readJson(run.path(ALLOCATION), Allocation.class);
  }

  /** Whether {@code out} already holds the mixed model of {@code choice} from {@code sources}. */
  public static boolean holds(RunDirectory out, List<RunDirectory> sources, Map<String, Integer> choice)
      throws IOException {
    if (!isMixed(out)) {
      return false;
    }
    Allocation a = read(out);
    return a.sources().equals(qualified(sources)) && a.tensors().equals(new TreeMap<>(choice));
  }

  private static List<String> qualified(List<RunDirectory> sources) {
    return sources.stream().map(r -> r.fs().makeQualified(r.root()).toString()).toList();
  }

  /** The run spec that describes a run's model: its own, or for a mixed run, its first source's. */
  public static RunSpec spec(RunDirectory run) throws IOException {
    if (!isMixed(run)) {
      return run.readSpec();
    }
    return RunDirectory.at(read(run).sources().get(0), run.conf()).readSpec();
  }

  /**
   * Writes the mixed model of {@code choice} (tensor name to index in {@code sources}) into {@code out}, which
   * must be new or empty; every source must be assembled and share the first's model and non-finite policy.
   */
  public static Allocation build(List<RunDirectory> sources, Map<String, Integer> choice, long targetBits,
      long bits, RunDirectory out, long maxShardBytes) throws IOException {
    if (out.fs().exists(out.root()) && (!out.fs().isDirectory(out.root()) || out.fs().listStatus(out.root()).length > 0)) {
      throw new BadInputException("Cannot write the allocated model to " + out.root() + ": it exists and is not an "
          + "empty directory (choose a new --out, or delete it)");
    }
    RunSpec first = sources.get(0).readSpec();
    List<PackedModel> packed = new ArrayList<>();
    try {
      for (RunDirectory r : sources) {
        RunSpec s = r.readSpec();
        if (!r.fs().exists(new Path(r.path(RunDirectory.PACKED), PackedFormat.MANIFEST))) {
          throw new BadInputException("Cannot build the allocated model from run " + r.root() + ": it is not "
              + "assembled (run `seedlm assemble --run " + r.root() + "` first)");
        }
        if (!s.modelFingerprint().equals(first.modelFingerprint()) || !s.nonFinite().equals(first.nonFinite())) {
          throw new BadInputException("Cannot build the allocated model from runs " + sources.get(0).root() + " and "
              + r.root() + ": other model or --non-finite policy");
        }
        packed.add(PackedModel.open(r.path(RunDirectory.PACKED), r.conf()));
      }
      Plan plan = sources.get(0).readPlan();
      TreeMap<String, Long> sizes = new TreeMap<>();
      for (Map.Entry<String, Integer> e : choice.entrySet()) {
        sizes.put(e.getKey() + PackedFormat.PACKED_SUFFIX,
            packed.get(e.getValue()).quantized().get(e.getKey()).packedBytes());
      }
      for (Plan.KeptTensor k : plan.kept()) {
        sizes.put(k.name(), packed.get(0).checkpoint().info(k.name()).byteLength());
      }
      out.fs().mkdirs(out.path(RunDirectory.PACKED));
      List<Assembler.OutputShard> shards = Assembler.groupShards(sizes, maxShardBytes);
      List<Assembler.ShardResult> results = new ArrayList<>();
      for (Assembler.OutputShard shard : shards) {
        results.add(writeShard(packed, choice, shard, out));
      }
      RunSpec spec = new RunSpec(first.format(), first.version(), first.model(), first.modelFingerprint(), CODEC,
          Map.of(), first.include(), first.exclude(), first.unitBlocks(), first.nonFinite(), first.modelContent());
      Allocation a = new Allocation(FORMAT, VERSION, first.modelFingerprint(), targetBits, bits,
          qualified(sources), new TreeMap<>(choice));
      out.writeJsonReplacing(out.path(ALLOCATION), a);
      Assembler.finish(out, first.model(), spec, PackedFormat.VERSION, plan, shards, results, out.conf());
      return a;
    } finally {
      for (PackedModel p : packed) {
        p.close();
      }
    }
  }

  private static Assembler.ShardResult writeShard(List<PackedModel> packed, Map<String, Integer> choice,
      Assembler.OutputShard shard, RunDirectory out) throws IOException {
    return Assembler.writePackedShard(out, shard, PackedFormat.VERSION, (w, stored, digest) -> {
      String base = stored.endsWith(PackedFormat.PACKED_SUFFIX)
          ? stored.substring(0, stored.length() - PackedFormat.PACKED_SUFFIX.length()) : null;
      boolean quantized = base != null && choice.containsKey(base);
      SafetensorsFile file = packed.get(quantized ? choice.get(base) : 0).checkpoint().fileOf(stored);
      if (quantized) { // the metadata verbatim, as its source wrote it
        w.metadata(PackedFormat.KEY_TENSOR_PREFIX + base, file.metadata().get(PackedFormat.KEY_TENSOR_PREFIX + base));
      }
      w.add(stored, file.info(stored).dtype(), file.info(stored).shape(), o -> file.copyTo(stored, digest.apply(o)));
    });
  }

  /**
   * What {@code verify} checks for a mixed run: every file and stored tensor of its manifest, and each
   * quantized tensor against the committed units of its source run (their Parquet rows, by full path).
   */
  public static Verifier.Items verifyItems(RunDirectory run) throws IOException {
    Allocation a = read(run);
    List<RunDirectory> sources = new ArrayList<>();
    List<Plan> plans = new ArrayList<>();
    List<Map<Integer, CommitMarker>> commits = new ArrayList<>();
    for (String s : a.sources()) {
      RunDirectory src = RunDirectory.at(s, run.conf());
      sources.add(src);
      plans.add(src.readPlan());
      commits.add(src.readCommits());
    }
    TreeMap<String, List<Verifier.UnitRef>> stored = new TreeMap<>();
    long blocks = 0;
    for (Map.Entry<String, Integer> e : a.tensors().entrySet()) {
      int i = e.getValue();
      List<Verifier.UnitRef> units = new ArrayList<>();
      for (CommitMarker m : commits.get(i).values()) {
        if (m.tensor().equals(e.getKey())) {
          units.add(new Verifier.UnitRef(m.unit(), plans.get(i).unit(m.unit()).shard(), m.firstBlock(), m.rows(),
              sources.get(i).path(m.file()).toString(), m.inputSha256()));
          blocks += m.rows();
        }
      }
      units.sort((x, y) -> Long.compare(x.firstBlock(), y.firstBlock()));
      stored.put(e.getKey() + PackedFormat.PACKED_SUFFIX, units);
    }
    plans.get(0).kept().forEach(k -> stored.put(k.name(), List.of()));
    return Verifier.items(run, stored, a.tensors().size(), blocks, List.of());
  }
}
