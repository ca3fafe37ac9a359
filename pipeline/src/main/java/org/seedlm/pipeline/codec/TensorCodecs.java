package org.seedlm.pipeline.codec;

import java.math.BigDecimal;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.seedlm.pipeline.BadInputException;

/** Names of the tensor-level codecs to codecs (the block codecs are {@link Codecs}). */
public final class TensorCodecs {
  private TensorCodecs() {}

  private static final List<String> STANDARD =
      List.of("int8-row", "int8-row-onone", "ternary-g64-t0.7", "ternary-g64-t2", "ternary5-g64-t0.5", "kashin");

  private static final String KNOWN =
      "int8-row, int8-row-o{sigma|none}, ternary-g{g}-t{t}, ternary5-g{g}-t{t}, kashin, kashin-n{N}-k{k}";

  private static final Pattern NUM = Pattern.compile("\\d{1,6}(\\.\\d{1,6})?");
  private static final Pattern INT8 = Pattern.compile("int8-row-o(none|" + NUM.pattern() + ")");
  private static final Pattern TERNARY = Pattern.compile("ternary(5?)-g(\\d{1,9})-t(" + NUM.pattern() + ")");
  private static final Pattern KASHIN = Pattern.compile("kashin-n(\\d{1,9})-k(\\d{1,9})");

  /** The tensor-level codecs every comparison runs by default. */
  public static List<String> standardNames() {
    return STANDARD;
  }

  /** Whether {@code name} is a tensor-level codec name (valid or not), rather than a block codec's. */
  public static boolean isTensorCodecName(String name) {
    String n = name.trim();
    return n.startsWith("int8-row") || n.startsWith("ternary") || n.startsWith("kashin");
  }

  /**
   * The codec a stored name and parameters describe (a run spec, packed tensor metadata), checked:
   * the name must parse and give exactly the recorded parameters.
   */
  public static TensorCodec parse(String name, java.util.Map<String, String> params) {
    TensorCodec c = parse(name);
    if (!new java.util.TreeMap<>(c.params()).equals(new java.util.TreeMap<>(params))) {
      throw new BadInputException(String.format("Cannot use codec %s with parameters %s: this build's %s has %s "
          + "(written by another seedlm-spark?)", name, params, c.name(), c.params()));
    }
    return c;
  }

  /** A decimal without trailing zeros, as in codec names: 0.7, 2, 6. */
  static String number(double x) {
    return BigDecimal.valueOf(x).stripTrailingZeros().toPlainString();
  }

  /**
   * Parses a tensor codec name (forms in {@link #KNOWN}); bad parameters or an unknown name give a
   * {@link BadInputException}.
   */
  public static TensorCodec parse(String name) {
    try {
      return create(name);
    } catch (BadInputException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new BadInputException(e.getMessage(), e);
    }
  }

  private static TensorCodec create(String name) {
    String n = name.trim();
    if (n.equals("int8-row")) {
      return new Int8RowCodec(Int8RowCodec.OUTLIER_SIGMA_DEFAULT);
    }
    if (n.equals("kashin")) {
      return new KashinCodec(KashinCodec.BLOCK_DEFAULT, KashinCodec.ROUNDS_DEFAULT);
    }
    Matcher m = INT8.matcher(n);
    if (m.matches()) {
      return new Int8RowCodec(
          m.group(1).equals("none") ? Int8RowCodec.NO_OUTLIERS : Double.parseDouble(m.group(1)));
    }
    m = TERNARY.matcher(n);
    if (m.matches()) {
      return new SparseTernaryCodec(
          m.group(1).isEmpty() ? 1 : 2, Integer.parseInt(m.group(2)), Double.parseDouble(m.group(3)));
    }
    m = KASHIN.matcher(n);
    if (m.matches()) {
      return new KashinCodec(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }
    throw new BadInputException("Cannot use codec \"" + name + "\": unknown name (known: " + KNOWN + ")");
  }
}
