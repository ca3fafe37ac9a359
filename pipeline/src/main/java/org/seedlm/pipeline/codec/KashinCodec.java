package org.seedlm.pipeline.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.seedlm.pipeline.numeric.HalfFloats;

/**
 * Kashin quantization, data-free, in the vector form of the 2026 fix (research notes section 6.3):
 * each block x of N consecutive weights (row-major over the tensor, the last block zero-padded) is
 * split as {@code x ~ u + P v} with both factors of small infinity norm, where {@code P z =
 * IDCT(eps * DCT(z))} is a sign-randomised orthonormal DCT-II (P is symmetric and orthogonal, P P =
 * I); then u and v are each quantised to 2 bits against 4 centroids, so a weight costs 4 bits plus
 * the block scale.
 *
 * <h2>Encode</h2>
 *
 * <ol>
 *   <li>Block scale {@code s = fp16(||x||_2 / sqrt(N))} (saturating); the block is divided by s (an
 *       all-zero block stores s = 0 and decodes to 0).
 *   <li>Greedy decomposition of {@code r = x / s}, {@code k} rounds of 4 steps: twice {@code du =
 *       sign(r) ||r||_1 / N; u += du; r -= du}, then twice {@code dv = sign(P r) ||P r||_1 / N; v +=
 *       dv; r -= P dv}.
 *   <li>Centroids, per tensor and per factor: 1-D k-means (Lloyd, at most {@value
 *       #KMEANS_ITERATIONS} iterations) over all blocks' entries, started at {@code +-c1 +- c2}
 *       with c1, c2 the mean sizes of the first two steps of that factor (after two steps each entry
 *       is exactly one of those four values).
 *   <li>Codes: the nearest centroid of each u and v entry (ties to the lower centroid).
 * </ol>
 *
 * Decode: {@code x = s * (cu[qu] + P cv[qv])}, computed in double with the DCT matrix, then
 * rounded to float.
 *
 * <h2>Layout (little-endian)</h2>
 *
 * [int64 sign seed][4 fp32 u centroids, ascending][4 fp32 v centroids, ascending][{@code blocks}
 * fp16 scales][per weight 4 bits, MSB first: 2 bits qu then 2 bits qv; padded to a whole byte].
 * Bits per weight: {@code 4 + 16 / N} plus 40 header bytes per tensor.
 */
public final class KashinCodec implements TensorCodec {

  /** Block size of the preset {@code kashin}. */
  public static final int BLOCK_DEFAULT = 256;

  /** Greedy rounds (4 steps each) of the preset. */
  public static final int ROUNDS_DEFAULT = 2;

  /** The fixed seed of the sign vector eps, stored in every encoded tensor. */
  public static final long SIGN_SEED = 20260401L;

  /** Lloyd iterations at most. */
  public static final int KMEANS_ITERATIONS = 30;

  private static final int HEADER = 8 + 32;

  private final int block;
  private final int rounds;
  private final double[] dct; // (N, N) orthonormal DCT-II, dct[k*N + n] = a_k cos(pi (2n+1) k / 2N)

  /**
   * @param block N, the block size, 2..4096
   * @param rounds k, greedy rounds, 1..64
   */
  public KashinCodec(int block, int rounds) {
    if (block < 2 || block > 4096) {
      throw new IllegalArgumentException(
          "Cannot create Kashin codec with block=" + block + ": block must be in [2, 4096]");
    }
    if (rounds < 1 || rounds > 64) {
      throw new IllegalArgumentException(
          "Cannot create Kashin codec with rounds=" + rounds + ": rounds must be in [1, 64]");
    }
    this.block = block;
    this.rounds = rounds;
    this.dct = new double[block * block];
    for (int k = 0; k < block; k++) {
      double a = Math.sqrt((k == 0 ? 1.0 : 2.0) / block);
      for (int n = 0; n < block; n++) {
        dct[k * block + n] = a * StrictMath.cos(Math.PI * (2 * n + 1) * k / (2.0 * block));
      }
    }
  }

  @Override
  public String name() {
    if (block == BLOCK_DEFAULT && rounds == ROUNDS_DEFAULT) {
      return "kashin";
    }
    return "kashin-n" + block + "-k" + rounds;
  }

  @Override
  public Map<String, String> params() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("block", Integer.toString(block));
    m.put("rounds", Integer.toString(rounds));
    m.put("transform", "sign-randomised DCT-II, seed " + SIGN_SEED);
    m.put("codes", "2+2 bits, 4+4 centroids per tensor");
    return m;
  }

  /** The sign vector eps of a seed: N values +-1. */
  static double[] signs(long seed, int n) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] eps = new double[n];
    for (int i = 0; i < n; i++) {
      eps[i] = rnd.nextBoolean() ? 1.0 : -1.0;
    }
    return eps;
  }

  /** {@code out = P z = DCT^T (eps * (DCT z))}; tmp is scratch of N. */
  void applyP(double[] eps, double[] z, double[] out, double[] tmp) {
    int n = block;
    for (int k = 0; k < n; k++) { // tmp = eps * (DCT z)
      double acc = 0;
      for (int i = 0; i < n; i++) {
        acc += dct[k * n + i] * z[i];
      }
      tmp[k] = eps[k] * acc;
    }
    Arrays.fill(out, 0);
    for (int k = 0; k < n; k++) { // out = DCT^T tmp
      double t = tmp[k];
      for (int i = 0; i < n; i++) {
        out[i] += dct[k * n + i] * t;
      }
    }
  }

  @Override
  public byte[] encode(float[] w, int rows, int cols) {
    TensorCodec.checkEncode(this, w, rows, cols);
    int n = w.length;
    int blocks = (n + block - 1) / block;
    double[] eps = signs(SIGN_SEED, block);
    short[] scales = new short[blocks]; // (blocks,) fp16 bits
    double[] u = new double[blocks * block]; // (blocks, N) the u factor of each normalised block
    double[] v = new double[blocks * block]; // (blocks, N) the v factor
    double[] firstSteps = new double[4]; // sums of the u step sizes 1, 2 and the v step sizes 1, 2
    double[] x = new double[block];
    double[] r = new double[block];
    double[] pr = new double[block];
    double[] tmp = new double[block];
    for (int b = 0; b < blocks; b++) {
      Arrays.fill(x, 0);
      double sumSq = 0;
      for (int i = 0; i < block && b * block + i < n; i++) {
        x[i] = w[b * block + i];
        sumSq += x[i] * x[i];
      }
      scales[b] = RtnCodec.saturatingF16((float) Math.sqrt(sumSq / block));
      double s = HalfFloats.f16ToFloat(scales[b]);
      if (s == 0) {
        scales[b] = 0;
        continue;
      }
      for (int i = 0; i < block; i++) {
        r[i] = x[i] / s;
      }
      decompose(eps, r, pr, tmp, u, v, b * block, firstSteps);
    }
    int active = Math.max(1, countNonZero(scales));
    double[] cu = asFloats(centroids(u, scales, firstSteps[0] / active, firstSteps[1] / active));
    double[] cv = asFloats(centroids(v, scales, firstSteps[2] / active, firstSteps[3] / active));
    ByteBuffer out = ByteBuffer.allocate(HEADER + 2 * blocks + (int) ((4L * blocks * block + 7) / 8))
        .order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(SIGN_SEED);
    for (double c : cu) {
      out.putFloat((float) c);
    }
    for (double c : cv) {
      out.putFloat((float) c);
    }
    for (short h : scales) {
      out.putShort(h);
    }
    byte[] bytes = out.array();
    long pos = 8L * out.position();
    for (int i = 0; i < blocks * block; i++, pos += 4) {
      int qu = nearest(cu, u[i]);
      int qv = nearest(cv, v[i]);
      Bits.write(bytes, pos, 4, qu << 2 | qv);
    }
    return bytes;
  }

  /**
   * The greedy split of one normalised block r (overwritten with the residual) into u and v at
   * {@code off}; adds the first two step sizes of each factor to {@code firstSteps}.
   */
  private void decompose(double[] eps, double[] r, double[] pr, double[] tmp, double[] u, double[] v, int off,
      double[] firstSteps) {
    int n = block;
    int uSteps = 0;
    int vSteps = 0;
    double[] dv = new double[n];
    double[] pdv = new double[n];
    for (int t = 0; t < rounds; t++) {
      for (int rep = 0; rep < 2; rep++, uSteps++) {
        double c = l1(r) / n;
        for (int i = 0; i < n; i++) {
          double d = c * Math.signum(r[i]);
          u[off + i] += d;
          r[i] -= d;
        }
        if (uSteps < 2) {
          firstSteps[uSteps] += c;
        }
      }
      for (int rep = 0; rep < 2; rep++, vSteps++) {
        applyP(eps, r, pr, tmp);
        double c = l1(pr) / n;
        for (int i = 0; i < n; i++) {
          dv[i] = c * Math.signum(pr[i]);
          v[off + i] += dv[i];
        }
        applyP(eps, dv, pdv, tmp);
        for (int i = 0; i < n; i++) {
          r[i] -= pdv[i];
        }
        if (vSteps < 2) {
          firstSteps[2 + vSteps] += c;
        }
      }
    }
  }

  private static double l1(double[] a) {
    double s = 0;
    for (double x : a) {
      s += Math.abs(x);
    }
    return s;
  }

  private static int countNonZero(short[] scales) {
    int k = 0;
    for (short h : scales) {
      k += h != 0 ? 1 : 0;
    }
    return k;
  }

  /** 1-D k-means with 4 centroids over the entries of the blocks with a nonzero scale. */
  private double[] centroids(double[] f, short[] scales, double c1, double c2) {
    double[] c = {-c1 - c2, -c1 + c2, c1 - c2, c1 + c2};
    Arrays.sort(c);
    for (int it = 0; it < KMEANS_ITERATIONS; it++) {
      double[] sum = new double[4];
      long[] count = new long[4];
      for (int b = 0; b < scales.length; b++) {
        if (scales[b] == 0) {
          continue;
        }
        for (int i = b * block; i < (b + 1) * block; i++) {
          int q = nearest(c, f[i]);
          sum[q] += f[i];
          count[q]++;
        }
      }
      double[] next = c.clone();
      for (int q = 0; q < 4; q++) {
        if (count[q] > 0) {
          next[q] = sum[q] / count[q];
        }
      }
      Arrays.sort(next);
      if (Arrays.equals(next, c)) {
        break;
      }
      c = next;
    }
    return c;
  }

  /** Rounds to the stored fp32 values, so that encode assigns codes against what decode reads. */
  private static double[] asFloats(double[] c) {
    double[] out = new double[c.length];
    for (int q = 0; q < c.length; q++) {
      out[q] = (float) c[q];
    }
    return out;
  }

  /** Index of the nearest of 4 ascending centroids (ties to the lower). */
  static int nearest(double[] c, double x) {
    int q = 0;
    while (q < c.length - 1 && x > (c[q] + c[q + 1]) / 2) {
      q++;
    }
    return q;
  }

  @Override
  public float[] decode(byte[] encoded, int rows, int cols) {
    TensorCodec.checkShape(this, "decode", (long) rows * cols, rows, cols);
    int n = rows * cols;
    int blocks = (n + block - 1) / block;
    long need = HEADER + 2L * blocks + (4L * blocks * block + 7) / 8;
    if (encoded.length != need) {
      throw new IllegalArgumentException(
          "Cannot decode " + name() + " tensor of " + rows + "x" + cols + ": " + encoded.length
              + " bytes, expected " + need);
    }
    ByteBuffer in = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
    double[] eps = signs(in.getLong(), block);
    double[] cu = new double[4];
    double[] cv = new double[4];
    for (int q = 0; q < 4; q++) {
      cu[q] = in.getFloat();
    }
    for (int q = 0; q < 4; q++) {
      cv[q] = in.getFloat();
    }
    long codes = 8L * (HEADER + 2L * blocks);
    float[] w = new float[n];
    double[] vq = new double[block];
    double[] pv = new double[block];
    double[] tmp = new double[block];
    for (int b = 0; b < blocks; b++) {
      double s = HalfFloats.f16ToFloat(in.getShort());
      if (!Double.isFinite(s)) {
        throw new IllegalArgumentException("Cannot decode " + name() + " block " + b + ": scale " + s + " is not finite");
      }
      long pos = codes + 4L * b * block;
      for (int i = 0; i < block; i++) {
        vq[i] = cv[(int) Bits.read(encoded, pos + 4L * i + 2, 2)];
      }
      applyP(eps, vq, pv, tmp);
      for (int i = 0; i < block && b * block + i < n; i++) {
        double uq = cu[(int) Bits.read(encoded, pos + 4L * i, 2)];
        w[b * block + i] = (float) (s * (uq + pv[i]));
      }
    }
    return w;
  }

  @Override
  public String toString() {
    return name();
  }
}
