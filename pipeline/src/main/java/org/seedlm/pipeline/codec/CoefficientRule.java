package org.seedlm.pipeline.codec;

import java.util.Locale;
import org.seedlm.pipeline.BadInputException;

/**
 * How the SeedLM encoder turns a seed's least-squares coefficients t into the stored e_rel and q
 * (SPEC section 4b; encoder only: the decoder and the bit layout do not depend on it).
 *
 * <ul>
 *   <li>{@link #NEAREST} (format version 1's rule): {@code e_rel = e0}, {@code q_j =
 *       clamp(round_half_even(t_j / 2^e), -8, 7)}.
 *   <li>{@link #BEST} (the default from version 2 on): the smallest quantized error over the
 *       candidates {@code e_rel in {e0, e0 - 1}} (each clamped to [-8, 7]) and, for each, every
 *       {@code q in {f_j, f_j + 1}^P} clamped to [-8, 7] with {@code f_j = floor(t_j / 2^e)}; ties
 *       go to the larger e_rel, then to the lexicographically smallest (q_1, ..., q_P).
 * </ul>
 */
public enum CoefficientRule {
  NEAREST,
  BEST;

  /** The rule of a new run when none is asked for. */
  public static final CoefficientRule DEFAULT = BEST;

  /** {@code nearest} or {@code best}, as typed on the command line and stored in run specs. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code nearest} or {@code best}; {@code what} names the option for the error message. */
  public static CoefficientRule parse(String s, String what) {
    for (CoefficientRule r : values()) {
      if (r.label().equals(s)) {
        return r;
      }
    }
    throw new BadInputException(String.format(
        "Cannot use coefficient rule \"%s\": expected best or nearest (set %s)", s, what));
  }
}
