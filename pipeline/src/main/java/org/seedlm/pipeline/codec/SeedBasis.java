package org.seedlm.pipeline.codec;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-seed tables of SeedLM (SPEC sections 3 and 5), built once per {@link SeedLmParams} and shared
 * by every codec instance and thread of a JVM ({@link #of(SeedLmParams)} caches them).
 *
 * <p>All tables are flat arrays indexed by seed; slot {@code seed = 0} is unused (all zeros) so that
 * the offset of seed {@code s} is simply {@code s * stride}. With {@code CP = C * P}:
 *
 * <ul>
 *   <li>{@link #states()}: {@code V[s*CP + i*P + j]} = the LFSR state after {@code i*P + j + 1}
 *       updates from {@code s} (row-major C x P), exact integers.
 *   <li>{@link #u()}: {@code U = (V - 2^(K-1)) / (2^(K-1) - 1)} in float64 (one correctly rounded
 *       division per entry), same layout.
 *   <li>{@link #uf()}: {@code (float) U}, same layout; the canonical decoder uses these.
 *   <li>{@link #pinv()}: the least-squares operator, P x C per seed: {@code pinv[s*CP + j*C + i]},
 *       so that {@code t_j = sum_i pinv[j][i] * w_i}.
 *   <li>{@link #gramPinv()}: the (pseudo-)inverse of {@code G = U^T U}, P x P per seed: {@code
 *       gramPinv[s*P*P + j*P + l]}; {@code ||w||^2 - b^T gramPinv b} with {@code b = U^T w} is the
 *       unquantized least-squares residual (a lower bound of the quantized error).
 *   <li>{@link #keptMask()}: per seed, bit j set when column j of U(s) takes part in the fit.
 * </ul>
 *
 * <p><b>Rank-deficient U(s)</b> (possible at small K or small C): the columns are examined in order
 * j = 0..P-1 during a Cholesky factorization of G computed in float64 from the exact U. Column j is
 * <em>dropped</em> when its squared norm after projecting out the kept earlier columns (the Cholesky
 * pivot {@code d_j}) is not greater than {@link #RANK_TOL} times its own squared norm {@code G_jj}
 * (this includes an all-zero column). A dropped column gets coefficient 0 (its rows of pinv and of
 * gramPinv are zero); the remaining coefficients are the exact least-squares fit over the kept
 * columns. The fitted vector {@code U t} is therefore still the orthogonal projection of w onto the
 * column space (up to the tolerance), so the residual is optimal; t is a basic solution, not the
 * minimum-norm one. Everything is deterministic: Java float64 arithmetic and {@code Math.sqrt} are
 * exactly specified by IEEE 754.
 */
public final class SeedBasis {

  /** Relative tolerance of the column-dropping rule (see class Javadoc). */
  public static final double RANK_TOL = 1e-10;

  /** Largest table size {@code 2^K * C * P} that will be built. */
  public static final long MAX_ENTRIES = 1L << 24;

  private static final ConcurrentHashMap<SeedLmParams, SeedBasis> CACHE =
      new ConcurrentHashMap<>();

  private final SeedLmParams params;
  private final int[] cycle;
  private final int[] position;
  private final int[] states;
  private final double[] u;
  private final float[] uf;
  private final double[] pinv;
  private final double[] gramPinv;
  private final int[] keptMask;

  /** The shared tables for {@code params}, built on first use. */
  public static SeedBasis of(SeedLmParams params) {
    if (params == null) {
      throw new IllegalArgumentException("Cannot build SeedLM basis for params null: params are required");
    }
    return CACHE.computeIfAbsent(params, SeedBasis::new);
  }

  private SeedBasis(SeedLmParams params) {
    this.params = params;
    int c = params.c();
    int p = params.p();
    int k = params.k();
    int cp = c * p;
    long entries = (1L << k) * cp;
    if (entries > MAX_ENTRIES) {
      throw new IllegalArgumentException(
          "Cannot build SeedLM basis for params "
              + params
              + ": table size 2^K*C*P = "
              + entries
              + " exceeds "
              + MAX_ENTRIES);
    }
    int n = (1 << k) - 1;
    cycle = Lfsr.cycle(k);
    position = new int[n + 1];
    position[0] = -1;
    for (int m = 0; m < n; m++) {
      position[cycle[m]] = m;
    }
    int slots = n + 1;
    states = new int[slots * cp];
    u = new double[slots * cp];
    uf = new float[slots * cp];
    pinv = new double[slots * cp];
    gramPinv = new double[slots * p * p];
    keptMask = new int[slots];
    double half = 1 << (k - 1);
    double denom = half - 1;
    double[] g = new double[p * p];
    double[] l = new double[p * p];
    double[] gi = new double[p * p];
    for (int s = 1; s <= n; s++) {
      int base = s * cp;
      int pos = position[s];
      for (int e = 0; e < cp; e++) {
        int v = cycle[(pos + e + 1) % n];
        states[base + e] = v;
        double uu = (v - half) / denom;
        u[base + e] = uu;
        uf[base + e] = (float) uu;
      }
      int mask = leastSquares(u, base, c, p, g, l, gi);
      keptMask[s] = mask;
      System.arraycopy(gi, 0, gramPinv, s * p * p, p * p);
      // pinv[j][i] = sum_l gi[j][l] * u[i][l], l ascending
      for (int j = 0; j < p; j++) {
        for (int i = 0; i < c; i++) {
          double acc = 0.0;
          for (int m = 0; m < p; m++) {
            acc += gi[j * p + m] * u[base + i * p + m];
          }
          pinv[base + j * c + i] = acc;
        }
      }
    }
  }

  /**
   * Computes G = U^T U, its column-dropping Cholesky factorization and the inverse of G over the
   * kept columns (zero rows/columns for dropped ones) into {@code gi}; returns the kept mask.
   */
  private static int leastSquares(
      double[] u, int base, int c, int p, double[] g, double[] l, double[] gi) {
    for (int a = 0; a < p; a++) {
      for (int b = 0; b < p; b++) {
        double acc = 0.0;
        for (int i = 0; i < c; i++) {
          acc += u[base + i * p + a] * u[base + i * p + b];
        }
        g[a * p + b] = acc;
      }
    }
    java.util.Arrays.fill(l, 0.0);
    int mask = 0;
    for (int j = 0; j < p; j++) {
      double d = g[j * p + j];
      for (int m = 0; m < j; m++) {
        d -= l[j * p + m] * l[j * p + m];
      }
      if (!(d > RANK_TOL * g[j * p + j])) {
        continue; // dropped: column j of L stays zero
      }
      mask |= 1 << j;
      double ljj = Math.sqrt(d);
      l[j * p + j] = ljj;
      for (int r = j + 1; r < p; r++) {
        double acc = g[r * p + j];
        for (int m = 0; m < j; m++) {
          acc -= l[r * p + m] * l[j * p + m];
        }
        l[r * p + j] = acc / ljj;
      }
    }
    // inverse of L over the kept indices (lower triangular): solve L X = I column by column
    java.util.Arrays.fill(gi, 0.0);
    double[] linv = new double[p * p];
    for (int col = 0; col < p; col++) {
      if ((mask & (1 << col)) == 0) {
        continue;
      }
      for (int r = col; r < p; r++) {
        if ((mask & (1 << r)) == 0) {
          continue;
        }
        double acc = r == col ? 1.0 : 0.0;
        for (int m = col; m < r; m++) {
          acc -= l[r * p + m] * linv[m * p + col];
        }
        linv[r * p + col] = acc / l[r * p + r];
      }
    }
    // G^+ = Linv^T Linv
    for (int a = 0; a < p; a++) {
      for (int b = 0; b < p; b++) {
        double acc = 0.0;
        for (int m = 0; m < p; m++) {
          acc += linv[m * p + a] * linv[m * p + b];
        }
        gi[a * p + b] = acc;
      }
    }
    return mask;
  }

  public SeedLmParams params() {
    return params;
  }

  /** Floats per seed in {@link #states()}, {@link #u()}, {@link #uf()}, {@link #pinv()}: C*P. */
  public int stride() {
    return params.c() * params.p();
  }

  /** The LFSR cycle from state 1 ({@link Lfsr#cycle(int)}); shared, do not modify. */
  public int[] cycle() {
    return cycle;
  }

  /** Position of {@code seed} in {@link #cycle()}. */
  public int position(int seed) {
    checkSeed(seed);
    return position[seed];
  }

  /** Exact states V, flat by seed (see class Javadoc); shared, do not modify. */
  public int[] states() {
    return states;
  }

  /** Float64 U, flat by seed; shared, do not modify. */
  public double[] u() {
    return u;
  }

  /** Float32 U used by the canonical decoder, flat by seed; shared, do not modify. */
  public float[] uf() {
    return uf;
  }

  /** Least-squares operators (P x C per seed), flat by seed; shared, do not modify. */
  public double[] pinv() {
    return pinv;
  }

  /** (Pseudo-)inverses of the Gram matrices (P x P per seed), flat by seed; shared, do not modify. */
  public double[] gramPinv() {
    return gramPinv;
  }

  /** Kept-column masks per seed; shared, do not modify. */
  public int[] keptMask() {
    return keptMask;
  }

  /** Whether every column of U(seed) is kept (full column rank under {@link #RANK_TOL}). */
  public boolean fullRank(int seed) {
    checkSeed(seed);
    return keptMask[seed] == (1 << params.p()) - 1;
  }

  /** V[i][j] of {@code seed}. */
  public int state(int seed, int i, int j) {
    checkSeed(seed);
    return states[index(seed, i, j)];
  }

  /** U[i][j] of {@code seed} in float64. */
  public double u(int seed, int i, int j) {
    checkSeed(seed);
    return u[index(seed, i, j)];
  }

  private int index(int seed, int i, int j) {
    if (i < 0 || i >= params.c() || j < 0 || j >= params.p()) {
      throw new IllegalArgumentException(
          "Cannot read U entry (" + i + ", " + j + "): indices must be within C x P of " + params);
    }
    return seed * stride() + i * params.p() + j;
  }

  /** Throws unless {@code 1 <= seed <= 2^K - 1}. */
  public void checkSeed(int seed) {
    if (seed < 1 || seed > params.numSeeds()) {
      throw new IllegalArgumentException(
          "Cannot use seed " + seed + ": seed must be in [1, 2^K - 1] for " + params);
    }
  }
}
