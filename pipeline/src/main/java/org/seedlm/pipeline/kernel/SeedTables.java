package org.seedlm.pipeline.kernel;

import java.util.concurrent.ConcurrentHashMap;
import org.seedlm.pipeline.codec.Lfsr;

/**
 * Per-(C,P,K) tables shared by all threads, built once per JVM (deterministic, pure float64 from
 * the exact integer LFSR states).
 *
 * <p>Cycle ({@link Lfsr#cycle}): {@code x[0] = 1, x[m+1] = next(x[m])}. The seed at cycle position {@code o} is the
 * state {@code x[o]}; its matrix is {@code U[i][j] = u(x[o + i*P + j + 1])}. The kernel works with
 * the integer-valued centred states {@code v = x - 2^(K-1)} (exact in float32): {@code U = V / H}
 * with {@code H = 2^(K-1) - 1}. The projection energy {@code f = b^T G^-1 b} ({@code b = V^T w},
 * {@code G = V^T V}) does not depend on the scale H.
 *
 * <p>Per position: {@code A = L^-1} (lower triangular, G = L L^T, float64 Cholesky rounded to
 * float32), stored structure-of-arrays, and a rigorous relative error bound {@code marg} such that
 * for every block w: {@code |f_float32(w) - f_exact(w)| <= marg * ||w||^2} (see {@link #margin}).
 */
final class SeedTables {
  /** Seeds processed per chunk in the kernel; all per-chunk tables stay in L1/L2. */
  static final int CHUNK = Integer.getInteger("seedlm.kernel.chunk", 512);

  private static final double EPS32 = 0x1p-24;
  private static final double EPS64 = 0x1p-53;

  final int c, p, k, n, npad, nTri;
  final int[] state; // state[o] = x[o], o < n
  final float[] v; // v[m] = x[m mod n] - 2^(K-1), m < vlen
  final float[][] a; // a[tri(k,j)][o], zero for o >= n
  final float[] marg; // relative margin per position, 0 for o >= n
  /** max over seeds and rows of the 1-norm of a pseudo-inverse row of U (u in [-1,1]). */
  final double maxPinvRow1;
  final double maxMarg;
  /** Relative float32 margin above which a seed is handled by the float64 QR path instead. */
  static final double BAD = 2e-4;
  /** Positions of the ill-conditioned seeds (float64 path), their orthonormal bases and margins. */
  final int nBad;
  final int[] badPos;
  /** float32 copy of the orthonormal bases, badQs[i*P+j][idx] (idx padded to a multiple of 16). */
  final float[][] badQs;
  /** Relative margin of the float32 evaluation {@code ||Qs^T w||^2}, -MAX_VALUE for padding. */
  final float[] badMargS;

  private static final ConcurrentHashMap<String, SeedTables> CACHE = new ConcurrentHashMap<>();

  static SeedTables get(int c, int p, int k) {
    return CACHE.computeIfAbsent(c + "/" + p + "/" + k, key -> new SeedTables(c, p, k));
  }

  static int tri(int kk, int j) {
    return kk * (kk + 1) / 2 + j;
  }

  private SeedTables(int c, int p, int k) {
    if (c < 1 || p < 1 || p > c) throw new IllegalArgumentException("bad C,P: " + c + "," + p);
    this.c = c;
    this.p = p;
    this.k = k;
    state = Lfsr.cycle(k);
    n = state.length;
    npad = (n + 15) & ~15;
    nTri = p * (p + 1) / 2;
    int half = 1 << (k - 1);
    int vlen = npad + CHUNK + 64 + c * p + 1;
    v = new float[vlen];
    for (int m = 0; m < vlen; m++) v[m] = state[m % n] - half;
    a = new float[nTri][npad];
    marg = new float[npad];
    double hh = half - 1;
    double[] g = new double[p * p];
    double[] l = new double[p * p];
    double[] ai = new double[p * p];
    double maxRow = 0, mm = 0;
    double sqrtC = Math.sqrt(c), sqrtP = Math.sqrt(p);
    double beta = gamma(c, EPS32) * hh * sqrtC;
    for (int o = 0; o < n; o++) {
      java.util.Arrays.fill(g, 0);
      for (int i = 0; i < c; i++)
        for (int j = 0; j < p; j++) {
          double vj = v[o + i * p + j + 1];
          for (int jj = 0; jj <= j; jj++) g[j * p + jj] += vj * v[o + i * p + jj + 1];
        }
      double trG = 0;
      for (int j = 0; j < p; j++) trG += g[j * p + j];
      boolean ok = cholesky(g, l, p) && invLower(l, ai, p);
      double alpha2 = 0;
      if (ok) {
        for (int kk = 0; kk < p; kk++)
          for (int j = 0; j <= kk; j++) {
            double x = ai[kk * p + j];
            alpha2 += x * x;
            a[tri(kk, j)][o] = (float) x;
          }
        ok = Double.isFinite(alpha2);
      }
      double m;
      if (ok) {
        double alpha = Math.sqrt(alpha2), fro = Math.sqrt(trG);
        double eCh = 4.0 * (p + 1) * EPS64 * trG * alpha2; // >= 4 (P+1) u64 cond(G), see margin()
        double d =
            alpha
                * ((gamma(p, EPS32) + EPS32 + eCh) * (fro + sqrtP * beta) * (1 + EPS32)
                    + sqrtP * beta);
        m = margin(d, p);
        // pseudo-inverse rows of U = V/H: pinv(U) = H * G^-1 V^T, G^-1 = A^T A
        for (int jr = 0; jr < p; jr++) {
          double row1 = 0;
          for (int i = 0; i < c; i++) {
            double sum = 0;
            for (int jj = 0; jj < p; jj++) {
              double ginv = 0;
              for (int kk = Math.max(jr, jj); kk < p; kk++) ginv += ai[kk * p + jr] * ai[kk * p + jj];
              sum += ginv * v[o + i * p + jj + 1];
            }
            row1 += Math.abs(sum) * hh;
          }
          maxRow = Math.max(maxRow, row1);
        }
      } else {
        // singular (only possible for tiny K): no usable bound -> always a candidate
        for (int t = 0; t < nTri; t++) a[t][o] = 0;
        m = 1e30;
        maxRow = Double.POSITIVE_INFINITY;
      }
      if (!(m < 1e30)) m = 1e30;
      marg[o] = (float) (m * (1 + 1e-6));
      mm = Math.max(mm, m);
    }
    maxPinvRow1 = maxRow;
    maxMarg = mm;
    int nb = 0;
    for (int o = 0; o < n; o++) if (marg[o] > BAD) nb++;
    nBad = nb;
    int nbp = (nb + 7) & ~7;
    badPos = new int[nbp];
    int nbs = (nb + 15) & ~15;
    badQs = new float[c * p][nbs];
    badMargS = new float[nbs];
    java.util.Arrays.fill(badMargS, -Float.MAX_VALUE);
    // float32 rounding of Q (|E| <= eps|Q|) and the float FMA chains: ||y_hat - y|| <= d ||w|| with
    // d = sqrt(P) (gamma_C + 2 eps)(1 + eps)(1 + eps sqrt(C)); Q's columns have unit norm.
    double dS = Math.sqrt(p) * (gamma(c, EPS32) + 2 * EPS32) * (1 + EPS32) * (1 + EPS32 * Math.sqrt(c));
    double[] vv = new double[c * p];
    double[] qq = new double[c * p];
    int bi = 0;
    for (int o = 0; o < n; o++) {
      if (!(marg[o] > BAD)) continue;
      for (int t = 0; t < nTri; t++) a[t][o] = 0;
      marg[o] = -Float.MAX_VALUE; // never passes the float32 scan
      for (int m = 0; m < c * p; m++) vv[m] = v[o + m + 1];
      double fro2 = 0;
      for (double x : vv) fro2 += x * x;
      // alpha >= 1/sigma_min(V) from the float64 Cholesky of G
      java.util.Arrays.fill(g, 0);
      for (int i = 0; i < c; i++)
        for (int j = 0; j < p; j++)
          for (int jj = 0; jj <= j; jj++) g[j * p + jj] += vv[i * p + j] * vv[i * p + jj];
      double alpha2 = 0;
      boolean ok = cholesky(g, l, p) && invLower(l, ai, p) && gramSchmidt2(vv, qq, c, p);
      if (ok) for (double x : ai) alpha2 += x * x;
      double m;
      if (ok && Double.isFinite(alpha2)) {
        // QR backward error ||dV|| <= 10*C*P*eps*||V||_F; subspace angle theta <= ||dV|| / sigma_min
        double theta = 10.0 * c * p * EPS64 * Math.sqrt(fro2) * Math.sqrt(alpha2) * 2;
        m = 1.5 * (2 * theta + theta * theta) + 1e-9; // see margin()
      } else m = 1e30;
      badPos[bi] = o;
      for (int t = 0; t < c * p; t++) badQs[t][bi] = ok ? (float) qq[t] : 0;
      double ms = m >= 1e30 ? 1e30 : margin(dS, p) + m;
      badMargS[bi] = (float) (ms * (1 + 1e-6));
      bi++;
    }
  }

  /** Orthonormal basis of the columns of row-major C x P matrix v, Gram-Schmidt applied twice. */
  static boolean gramSchmidt2(double[] v, double[] q, int c, int p) {
    System.arraycopy(v, 0, q, 0, c * p);
    for (int j = 0; j < p; j++) {
      for (int pass = 0; pass < 2; pass++)
        for (int jj = 0; jj < j; jj++) {
          double d = 0;
          for (int i = 0; i < c; i++) d += q[i * p + jj] * q[i * p + j];
          for (int i = 0; i < c; i++) q[i * p + j] -= d * q[i * p + jj];
        }
      double nn = 0;
      for (int i = 0; i < c; i++) nn += q[i * p + j] * q[i * p + j];
      if (!(nn > 0)) return false;
      double inv = 1 / Math.sqrt(nn);
      for (int i = 0; i < c; i++) q[i * p + j] *= inv;
      // one more pass for safety after normalisation
      for (int jj = 0; jj < j; jj++) {
        double d = 0;
        for (int i = 0; i < c; i++) d += q[i * p + jj] * q[i * p + j];
        for (int i = 0; i < c; i++) q[i * p + j] -= d * q[i * p + jj];
      }
      nn = 0;
      for (int i = 0; i < c; i++) nn += q[i * p + j] * q[i * p + j];
      inv = 1 / Math.sqrt(nn);
      for (int i = 0; i < c; i++) q[i * p + j] *= inv;
    }
    return true;
  }

  /**
   * The relative margin of one seed: {@code marg >= |f_hat - f| / ||w'||^2 + (rounding of the test)}
   * for every block, given {@code d >= ||y_hat - y|| / ||w'||}. The derivation, with {@code u =
   * 2^-24} (float32), {@code u64 = 2^-53} and the standard {@code gamma_n = n u / (1 - n u)}, which
   * bounds the error of a dot product of length n computed with n roundings: {@code |fl(x.z) - x.z|
   * <= gamma_n |x|.|z|} (Higham, Accuracy and Stability of Numerical Algorithms, section 3.1).
   *
   * <ol>
   *   <li>Correlation (float32, C roundings in one FMA chain, or two chains of C/2 plus one add):
   *       {@code |c_hat_j - c_j| <= gamma_C sum_i |v_ij| |w'_i| <= gamma_C max|v| sqrt(C) ||w'|| =
   *       beta ||w'||}; the integer states v are exact in float32. So {@code ||c_hat - c|| <=
   *       sqrt(P) beta ||w'||} and {@code ||c|| <= ||V||_F ||w'||}.
   *   <li>{@code y = A c} with {@code A = L^-1}: the stored float32 {@code A_hat} differs from the
   *       exact A by the float32 rounding (u) and the float64 Cholesky and inversion error ({@code
   *       e_ch}, relative to ||A||); the triangular products round P times ({@code gamma_P}). So
   *       {@code ||y_hat - y|| <= ||A||_F ((gamma_P + u + e_ch)(||V||_F + sqrt(P) beta)(1 + u) +
   *       sqrt(P) beta) ||w'|| = d ||w'||} (the constructor's d). For e_ch: Cholesky and inversion of
   *       a P x P matrix in float64 have relative forward error at most about {@code 2 (P + 1) u64
   *       cond(G)} (Higham theorems 10.3 and 8.5 to first order); the code uses {@code e_ch = 4 (P +
   *       1) u64 tr(G) ||A||_F^2}, at least twice that since {@code tr(G) ||A||_F^2 = tr(G) tr(G^-1)
   *       >= cond(G)}, which covers the second-order terms while {@code e_ch < 0.1} (every seed with
   *       a larger margin takes the orthonormal path, see {@link #BAD}).
   *   <li>{@code f = ||y||^2} with {@code ||y|| <= ||w'||} (a projection): {@code | ||y_hat||^2 -
   *       ||y||^2 | <= (2 d + d^2) ||w'||^2}, and the sum of P squares in an FMA chain adds {@code
   *       gamma_P ||y_hat||^2 <= gamma_P (1 + d)^2 ||w'||^2}. The final FMA {@code fu = marg *
   *       ||w'||^2 + f_hat} rounds once more: this gives the bound {@code B = (2 d + d^2) +
   *       gamma_(P+1) (1 + d)^2}.
   *   <li>The rest of the test, absolute and independent of the seed: {@code ||w'||^2} rounded to
   *       float32 (relative u on a term of size marg, below {@code 10^-10}), the rounding of fu
   *       itself ({@code u fu <= u (1 + marg) ||w'||^2 < 1.3e-7 ||w'||^2}), the float64 lower bound
   *       {@code ||w'||^2 - fu - ABS} (below {@code 10^-15 ||w'||^2}) and the float64 error of the
   *       reference's err(s), which is compared with it (at most {@code gamma_(C+P+1)} relative to
   *       {@code ||w||^2 + ||U t_hat||^2 <= 10 ||w||^2}, below {@code 2e-14 ||w'||^2}). Together
   *       below {@code 1.4e-7}: the constant {@code 1e-6} is 7 times that.
   * </ol>
   *
   * The code returns {@code 1.5 B + 1e-6}: at least the derived {@code B + 1.4e-7} (the factor 1.5
   * is headroom for the first-order e_ch only). The constructor stores it in float32 times {@code 1
   * + 1e-6} ({@code >= 1 / (1 - u)}, so the rounding to float32 cannot make it smaller). The
   * orthonormal path uses the same function with {@code d = sqrt(P) (gamma_C + 2 u)(1 + u)(1 + u
   * sqrt(C))} (float32 copies of the unit columns of Q: rounding u, the chains gamma_C), plus the
   * float64 Gram-Schmidt's own error: backward error {@code ||dV|| <= 10 C P u64 ||V||_F} (twice
   * applied Gram-Schmidt, Giraud, Langou and Rozloznik 2005), which tilts the subspace by {@code
   * theta <= 2 ||dV|| / sigma_min(V)}, {@code sigma_min >= 1 / ||A||_F}, and moves f by at most
   * {@code sin(theta) <= theta <= 2 theta + theta^2} relative (used as 1.5 (2 theta + theta^2) +
   * 1e-9).
   */
  static double margin(double d, int p) {
    return 1.5 * ((2 * d + d * d) + gamma(p + 1, EPS32) * (1 + d) * (1 + d)) + 1e-6;
  }

  /** {@code n eps / (1 - n eps)}: bounds the relative error of n roundings of unit roundoff eps. */
  static double gamma(int nn, double eps) {
    return nn * eps / (1 - nn * eps);
  }

  /** Lower Cholesky of symmetric g (lower part used). */
  static boolean cholesky(double[] g, double[] l, int p) {
    java.util.Arrays.fill(l, 0);
    for (int j = 0; j < p; j++) {
      double d = g[j * p + j];
      for (int t = 0; t < j; t++) d -= l[j * p + t] * l[j * p + t];
      if (!(d > 0)) return false;
      double ljj = Math.sqrt(d);
      l[j * p + j] = ljj;
      for (int i = j + 1; i < p; i++) {
        double s = g[i * p + j];
        for (int t = 0; t < j; t++) s -= l[i * p + t] * l[j * p + t];
        l[i * p + j] = s / ljj;
      }
    }
    return true;
  }

  /** Inverse of lower-triangular l into ai. */
  static boolean invLower(double[] l, double[] ai, int p) {
    java.util.Arrays.fill(ai, 0);
    for (int j = 0; j < p; j++) {
      ai[j * p + j] = 1 / l[j * p + j];
      for (int i = j + 1; i < p; i++) {
        double s = 0;
        for (int t = j; t < i; t++) s -= l[i * p + t] * ai[t * p + j];
        ai[i * p + j] = s / l[i * p + i];
      }
    }
    return true;
  }
}
