package org.seedlm.pipeline.codec;

import org.seedlm.pipeline.BadInputException;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Codec names to codecs. */
public final class Codecs {
  private Codecs() {}

  private static final List<String> STANDARD =
      List.of("seedlm-4bit", "seedlm-3bit", "rtn-sym-b4-g128", "rtn-asym-b4-g128", "nf4-g64");

  private static final String KNOWN =
      "seedlm-4bit, seedlm-3bit, seedlm-c{C}-p{P}-k{K}, rtn-sym-b{b}-g{g}, rtn-asym-b{b}-g{g},"
          + " nf4-g{n}";

  private static final Pattern SEEDLM = Pattern.compile("seedlm-c(\\d{1,9})-p(\\d{1,9})-k(\\d{1,9})");
  private static final Pattern RTN = Pattern.compile("rtn-(sym|asym)-b(\\d{1,9})-g(\\d{1,9})");
  private static final Pattern NF4 = Pattern.compile("nf4-g(\\d{1,9})");

  /**
   * The format version 2 parameters {@link #parse(String)} gives SeedLM codecs, as {@link #parse(String,
   * Map)} takes them: {@code G = 4096}, {@code coefficients = best}.
   */
  public static Map<String, String> defaultParams() {
    return Map.of(SeedLmCodec.PARAM_GROUP_BLOCKS, Integer.toString(SeedLmCodec.DEFAULT_GROUP_BLOCKS),
        SeedLmCodec.PARAM_COEFFICIENTS, CoefficientRule.DEFAULT.label());
  }

  /** The codecs every comparison runs by default. */
  public static List<String> standardNames() {
    return STANDARD;
  }

  /**
   * Parses a codec name: {@code seedlm-4bit}, {@code seedlm-3bit}, {@code seedlm-c{C}-p{P}-k{K}},
   * {@code rtn-sym-b{b}-g{g}}, {@code rtn-asym-b{b}-g{g}}, {@code nf4-g{n}}. Invalid parameters give
   * the codec's own message; unknown names give one that lists the known forms. SeedLM codecs are
   * format version 2 with the default rule ({@code best}) and G (4096). Either way a
   * {@link BadInputException}: a codec name is what a user typed.
   */
  public static BlockCodec parse(String name) {
    try {
      return create(name);
    } catch (BadInputException e) {
      throw e;
    } catch (IllegalArgumentException e) { // a codec's parameter check, or a number too large to parse
      throw new BadInputException(e.getMessage(), e);
    }
  }

  /**
   * Parses a codec name as {@link #parse(String)}, with the SeedLM format version 2 parameters taken
   * from {@code params} (a run spec's or a packed tensor's recorded parameters, or a command's
   * options): {@code G} (blocks per exponent-offset group, absent or 0: format version 1) and {@code
   * coefficients} ({@code best} or {@code nearest}, absent: {@code nearest}). Other codecs ignore
   * them; callers compare the remaining parameters themselves.
   */
  public static BlockCodec parse(String name, Map<String, String> params) {
    BlockCodec c = parse(name);
    if (!(c instanceof SeedLmCodec s)) {
      return c;
    }
    String g = params.getOrDefault(SeedLmCodec.PARAM_GROUP_BLOCKS, "0");
    int groupBlocks;
    try {
      groupBlocks = Integer.parseInt(g);
    } catch (NumberFormatException e) {
      throw new BadInputException(String.format(
          "Cannot use codec %s with G=%s: G must be an integer >= 0 (set --group-blocks)", name, g));
    }
    if (groupBlocks < 0) {
      throw new BadInputException(String.format(
          "Cannot use codec %s with G=%d: G must be >= 1, or 0 for format version 1 (set --group-blocks)", name,
          groupBlocks));
    }
    CoefficientRule rule = CoefficientRule.parse(
        params.getOrDefault(SeedLmCodec.PARAM_COEFFICIENTS, CoefficientRule.NEAREST.label()), "--coefficients");
    return new SeedLmCodec(s.seedLmParams(), rule, groupBlocks);
  }

  private static BlockCodec create(String name) {
    if (name == null) {
      throw new BadInputException("Cannot use codec null: a name is required (known: " + KNOWN + ")");
    }
    String n = name.trim();
    if (n.equals("seedlm-4bit")) {
      return SeedLmCodec.v2(SeedLmParams.FOUR_BIT);
    }
    if (n.equals("seedlm-3bit")) {
      return SeedLmCodec.v2(SeedLmParams.THREE_BIT);
    }
    Matcher m = SEEDLM.matcher(n);
    if (m.matches()) {
      return SeedLmCodec.v2(
          new SeedLmParams(
              Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))));
    }
    m = RTN.matcher(n);
    if (m.matches()) {
      return new RtnCodec(
          m.group(1).equals("sym"), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
    }
    m = NF4.matcher(n);
    if (m.matches()) {
      return new Nf4Codec(Integer.parseInt(m.group(1)));
    }
    throw new BadInputException(
        "Cannot use codec \"" + name + "\": unknown name (known: " + KNOWN + ")");
  }
}
