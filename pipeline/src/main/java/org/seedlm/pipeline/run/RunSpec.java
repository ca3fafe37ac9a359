package org.seedlm.pipeline.run;

import org.seedlm.pipeline.BadInputException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.codec.TensorCodecs;

/**
 * The immutable specification of a run, written first to {@code run.json}. A later command on the
 * same run directory must ask for the same spec (see {@link #differences}), so a run directory never
 * mixes results of two models or two option sets.
 *
 * @param format always {@link #FORMAT}
 * @param version layout version, {@link #VERSION}
 * @param model model location as given when the run was created (informational: a moved copy
 *     with the same fingerprint is accepted)
 * @param modelFingerprint SHA-256 over the checkpoint's shard names, sizes and headers
 * @param codec canonical codec name
 * @param codecParams the codec's parameters
 * @param include include patterns (empty: the default selection)
 * @param exclude exclude patterns
 * @param unitBlocks blocks per work unit
 * @param nonFinite what to do with NaN or Inf weights: {@code fail} or {@code zero}
 * @param modelContent {@link org.seedlm.pipeline.safetensors.Checkpoint#contentFingerprint}: SHA-256 of a
 *     fixed sample of the checkpoint's values; null in a run directory made before seedlm recorded it
 *     (the content is then "not recorded" and not checked)
 */
public record RunSpec(String format, int version, String model, String modelFingerprint, String codec,
    Map<String, String> codecParams, List<String> include, List<String> exclude, int unitBlocks,
    String nonFinite, String modelContent) implements Serializable {

  public static final String FORMAT = "seedlm-run";
  public static final int VERSION = BlockTable.LAYOUT;
  public static final List<String> NON_FINITE_POLICIES = List.of("fail", "zero");

  public RunSpec {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(codec, "codec");
    codecParams = new TreeMap<>(codecParams);
    // Spelling out the default pattern selects exactly what no include does: store one form.
    include = include.equals(List.of(TensorSelection.DEFAULT_PATTERN)) ? List.of() : List.copyOf(include);
    exclude = List.copyOf(exclude);
    if (!NON_FINITE_POLICIES.contains(nonFinite)) {
      throw new BadInputException(String.format(
          "Cannot use non-finite policy \"%s\": expected one of %s (set --non-finite)", nonFinite,
          NON_FINITE_POLICIES));
    }
  }

  /** The codec of this spec: its name with its recorded parameters ({@link Codecs#parse(String, Map)}). */
  public BlockCodec newCodec() {
    return Codecs.parse(codec, codecParams);
  }

  /** Whether this spec's codec is a tensor-level one ({@link TensorCodecs}): one unit and one row per tensor. */
  public boolean tensorCodec() {
    return TensorCodecs.isTensorCodecName(codec);
  }

  /** The tensor-level codec of this spec, checked against its recorded parameters. */
  public TensorCodec newTensorCodec() {
    return TensorCodecs.parse(codec, codecParams);
  }

  /** SeedLM's blocks per exponent-offset group G of this spec's codec; 0 without offsets (a tensor-level codec). */
  public int groupBlocks() {
    return tensorCodec() ? 0 : newCodec().groupBlocks();
  }

  /** The tensor selection of this spec. */
  public TensorSelection selection() {
    return new TensorSelection(include, exclude);
  }

  /**
   * What differs between this spec (the one stored in a run directory) and {@code asked} (the one a
   * command asks for), one readable line each; empty when they agree.
   */
  public List<String> differences(RunSpec asked) {
    List<String> d = new ArrayList<>();
    diff(d, "format", format + " v" + version, asked.format + " v" + asked.version);
    if (version < asked.version) {
      d.add(String.format("the run directory was made by an older seedlm (block table layout %d); this seedlm "
          + "still assembles, verifies and shows its errors, but cannot add units to it: finish it with the "
          + "seedlm that made it, or quantize into a new run directory", version));
    }
    if (!modelFingerprint.equals(asked.modelFingerprint)) {
      d.add(String.format("model: the run was made from %s (fingerprint %s), this command reads %s (fingerprint %s)",
          model, shortFp(modelFingerprint), asked.model, shortFp(asked.modelFingerprint)));
    }
    if (modelContent != null && asked.modelContent != null && !modelContent.equals(asked.modelContent)) {
      d.add(String.format("model content: the run was made from %s (content %s), this command reads %s "
              + "(content %s): same tensor names, shapes and dtypes, other values (a base and an instruct "
              + "model of one architecture, or a re-downloaded model that changed); resume with the model the "
              + "run was made from, or quantize %s into a new run directory",
          model, shortFp(modelContent), asked.model, shortFp(asked.modelContent), asked.model));
    }
    diff(d, "codec", codec, asked.codec);
    if (codec.startsWith("seedlm")) {
      diff(d, "coefficient rule (--coefficients)", param(codecParams, SeedLmCodec.PARAM_COEFFICIENTS, "nearest"),
          param(asked.codecParams, SeedLmCodec.PARAM_COEFFICIENTS, "nearest"));
      diff(d, "group-blocks G (--group-blocks; 0 = format version 1, no exponent offsets)",
          param(codecParams, SeedLmCodec.PARAM_GROUP_BLOCKS, "0"), param(asked.codecParams, SeedLmCodec.PARAM_GROUP_BLOCKS, "0"));
    }
    diff(d, "codec parameters", withoutV2(codecParams), withoutV2(asked.codecParams));
    diff(d, "include patterns", include, asked.include);
    diff(d, "exclude patterns", exclude, asked.exclude);
    diff(d, "unit-blocks", unitBlocks, asked.unitBlocks);
    diff(d, "non-finite policy", nonFinite, asked.nonFinite);
    return d;
  }

  /**
   * What a command on this stored spec cannot check, one line each (empty for a spec written by this
   * version): a spec without {@code modelContent} was made before content fingerprints.
   */
  public List<String> notRecorded() {
    return modelContent == null
        ? List.of("run.json records no model content fingerprint (the run was made by an older seedlm): "
            + "only the model's shard names, sizes and headers are checked, not its values")
        : List.of();
  }

  private static String param(Map<String, String> params, String key, String absent) {
    return params.getOrDefault(key, absent);
  }

  /** The parameters without the format version 2 ones, which {@link #differences} names on lines of their own. */
  private static Map<String, String> withoutV2(Map<String, String> params) {
    Map<String, String> m = new TreeMap<>(params);
    m.remove(SeedLmCodec.PARAM_COEFFICIENTS);
    m.remove(SeedLmCodec.PARAM_GROUP_BLOCKS);
    return m;
  }

  private static void diff(List<String> out, String what, Object run, Object asked) {
    if (!Objects.equals(run, asked)) {
      out.add(String.format("%s: the run has %s, this command asks for %s", what, run, asked));
    }
  }

  private static String shortFp(String fp) {
    return fp.length() > 12 ? fp.substring(0, 12) : fp;
  }
}
