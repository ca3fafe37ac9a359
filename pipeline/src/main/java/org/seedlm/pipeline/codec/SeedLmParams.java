package org.seedlm.pipeline.codec;

/**
 * SeedLM block parameters (SPEC section 1): {@code C} weights per block, {@code P} coefficients,
 * {@code K}-bit LFSR seed. A block takes {@code K + 4 + 4P} bits.
 *
 * @param c weights per block (C), 1..4096
 * @param p coefficients per block (P), 1..min(C, 16)
 * @param k LFSR width (K), 2..24
 */
public record SeedLmParams(int c, int p, int k) {

  /** Largest supported C. */
  public static final int MAX_C = 4096;

  /** Largest supported P. */
  public static final int MAX_P = 16;

  /** The 4-bit configuration (C=8, P=3, K=16): 32 bits per block. */
  public static final SeedLmParams FOUR_BIT = new SeedLmParams(8, 3, 16);

  /** The 3-bit configuration (C=12, P=4, K=16): 36 bits per block. */
  public static final SeedLmParams THREE_BIT = new SeedLmParams(12, 4, 16);

  public SeedLmParams {
    if (c < 1 || c > MAX_C) {
      throw new IllegalArgumentException(
          "Cannot use SeedLM params " + describe(c, p, k) + ": C must be in [1, " + MAX_C + "]");
    }
    if (p < 1 || p > MAX_P) {
      throw new IllegalArgumentException(
          "Cannot use SeedLM params " + describe(c, p, k) + ": P must be in [1, " + MAX_P + "]");
    }
    if (p > c) {
      throw new IllegalArgumentException(
          "Cannot use SeedLM params " + describe(c, p, k) + ": P must not exceed C");
    }
    if (k < Lfsr.MIN_K || k > Lfsr.MAX_K) {
      throw new IllegalArgumentException(
          "Cannot use SeedLM params "
              + describe(c, p, k)
              + ": K must be in ["
              + Lfsr.MIN_K
              + ", "
              + Lfsr.MAX_K
              + "]");
    }
  }

  private static String describe(int c, int p, int k) {
    return "(C=" + c + ", P=" + p + ", K=" + k + ")";
  }

  /** Bits per encoded block: {@code K + 4 + 4P}. */
  public int bitsPerBlock() {
    return k + 4 + 4 * p;
  }

  /** Number of seeds, {@code 2^K - 1}. */
  public int numSeeds() {
    return (1 << k) - 1;
  }

  /** {@code seedlm-4bit}, {@code seedlm-3bit}, or {@code seedlm-c{C}-p{P}-k{K}}. */
  public String name() {
    if (equals(FOUR_BIT)) {
      return "seedlm-4bit";
    }
    if (equals(THREE_BIT)) {
      return "seedlm-3bit";
    }
    return "seedlm-c" + c + "-p" + p + "-k" + k;
  }

  /** Looks up a named configuration: {@code seedlm-4bit} or {@code seedlm-3bit}. */
  public static SeedLmParams named(String name) {
    return switch (name) {
      case "seedlm-4bit" -> FOUR_BIT;
      case "seedlm-3bit" -> THREE_BIT;
      default -> throw new IllegalArgumentException(
          "Cannot use SeedLM config \"" + name + "\": known configs are seedlm-4bit, seedlm-3bit");
    };
  }

  @Override
  public String toString() {
    return name() + describe(c, p, k);
  }
}
