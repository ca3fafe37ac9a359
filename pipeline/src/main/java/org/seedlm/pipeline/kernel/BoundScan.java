package org.seedlm.pipeline.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The bound scan (steps 1 and 2 of {@link FastSeedSearch}'s argument), per thread: scales the blocks
 * of a tile, computes for every seed the float32 upper bound {@code fu} of the projection energy and
 * offers the seeds with {@code fu > threshold} to the {@link TopCandidates}. The vector loops are in
 * {@link BoundKernels}; {@code vectorBitSize = 0} runs the same operations in scalar Java.
 */
final class BoundScan {
  private static final VectorSpecies<Float> S = BoundKernels.S;
  private static final int VL = BoundKernels.VL;

  private final SeedTables tb;
  private final int c, p;
  private final boolean vector;
  private final TopCandidates cand;

  // step 1: the scaled blocks of the tile (index b) and their squared norms
  final float[] ws; // (TB, C) block b times 2^kscale[b], max |w'| in [1, 2)
  final float[] w2f; // (TB,) ||w'||^2 rounded to float32, the scan's value
  final double[] w2d; // (TB,) ||w'||^2 in float64, the lower bounds' value
  final int[] kscale; // (TB,) the power of two of the scaling
  // step 2: the cycle correlations of one chunk (two blocks for the paired scan), and the lanes of a
  // vector group in which some seed passed the threshold
  private final float[] cbuf; // (CHUNK + P - 1 + padding,) c(o0 + 1 + t) of one block
  private final float[] cbuf2; // the same for the second block of a pair
  private final float[] tmp = new float[VL];
  private final float[] tmp2 = new float[VL];

  BoundScan(SeedTables tb, boolean vector, TopCandidates cand, int tileBlocks) {
    this.tb = tb;
    this.c = tb.c;
    this.p = tb.p;
    this.vector = vector;
    this.cand = cand;
    ws = new float[tileBlocks * tb.c];
    w2f = new float[tileBlocks];
    w2d = new double[tileBlocks];
    kscale = new int[tileBlocks];
    cbuf = new float[SeedTables.CHUNK + 2 * VL + tb.p + 8];
    cbuf2 = new float[SeedTables.CHUNK + 2 * VL + tb.p + 8];
  }

  /**
   * Step 1: stores block b ({@code w[wo .. wo+C)}, largest magnitude {@code mx > 0}) scaled by the
   * power of two that puts {@code mx} in [1, 2) (exact), and its squared norm; returns the float64
   * squared norm.
   */
  double load(int b, float[] w, int wo, double mx) {
    int ks = -Math.getExponent(mx);
    kscale[b] = ks;
    double s2 = 0;
    for (int i = 0; i < c; i++) {
      float x = (float) Math.scalb((double) w[wo + i], ks);
      ws[b * c + i] = x;
      s2 += (double) x * x;
    }
    w2d[b] = s2;
    w2f[b] = (float) s2;
    return s2;
  }

  /**
   * Step 2 for the active blocks of a tile: every chunk of seeds, two blocks at a time where the
   * unrolled pair loops apply, then the ill-conditioned seeds.
   */
  void scanTile(boolean[] active, int nb) {
    int npad = tb.npad;
    for (int o0 = 0; o0 < npad; o0 += SeedTables.CHUNK) {
      int len = Math.min(SeedTables.CHUNK, npad - o0);
      int pend = -1; // an active block waiting for a partner
      for (int b = 0; b < nb; b++) {
        if (!active[b]) continue;
        if (!vector || (p != 3 && p != 4) || !FastSeedSearch.PAIRS) {
          scanChunk(b, o0, len);
          continue;
        }
        if (pend < 0) {
          pend = b;
          continue;
        }
        corrVecInto(pend, o0, len, cbuf);
        corrVecInto(b, o0, len, cbuf2);
        scanPair(pend, b, o0, len);
        pend = -1;
      }
      if (pend >= 0) scanChunk(pend, o0, len);
    }
    // ill-conditioned seeds last: the thresholds are high by then, so few candidates are offered
    for (int b = 0; b < nb; b++) if (active[b]) badScan(b);
  }

  /** Step 6: the same scan of every seed for block b alone (the candidates collect). */
  void scanAll(int b) {
    for (int o0 = 0; o0 < tb.npad; o0 += SeedTables.CHUNK) {
      int len = Math.min(SeedTables.CHUNK, tb.npad - o0);
      scanChunk(b, o0, len);
    }
    badScan(b);
  }

  /** Step 2 for block b on the chunk of seeds at positions [o0, o0 + len): correlation, then bound and threshold. */
  void scanChunk(int b, int o0, int len) {
    if (vector) {
      corrVec(b, o0, len);
      if (p == 3) scanVec3(b, o0, len);
      else if (p == 4) scanVec4(b, o0, len);
      else scanVecGen(b, o0, len);
    } else {
      corrScalar(b, o0, len);
      scanScalar(b, o0, len);
    }
  }

  /**
   * Ill-conditioned seeds: {@code ||Q^T w||^2} with Q an orthonormal basis of U(s) (float64
   * Gram-Schmidt, stored in float32), whose error does not grow with the conditioning of U.
   */
  void badScan(int b) {
    int nBad = tb.nBad;
    if (nBad == 0) return;
    float[][] q = tb.badQs;
    float[] bm = tb.badMargS;
    int wb = b * c;
    float w2 = w2f[b];
    if (vector && VL == 8 && c * p <= 64) {
      int nb16 = (nBad + 15) & ~15;
      for (int g = 0; g < nb16; g += VL) {
        FloatVector f = FloatVector.zero(S);
        for (int j = 0; j < p; j++) {
          FloatVector y = FloatVector.fromArray(S, q[j], g).mul(ws[wb]);
          for (int i = 1; i < c; i++)
            y = FloatVector.fromArray(S, q[i * p + j], g).fma(FloatVector.broadcast(S, ws[wb + i]), y);
          f = y.fma(y, f);
        }
        FloatVector fu = FloatVector.fromArray(S, bm, g).fma(FloatVector.broadcast(S, w2), f);
        fu.intoArray(tmp, 0);
        for (int l = 0; l < VL; l++)
          if (tmp[l] > cand.threshold[b] && g + l < nBad) cand.offer(b, tmp[l], tb.badPos[g + l]);
      }
      return;
    }
    for (int bi = 0; bi < nBad; bi++) {
      float f = 0;
      for (int j = 0; j < p; j++) {
        float y = q[j][bi] * ws[wb];
        for (int i = 1; i < c; i++) y = Math.fma(q[i * p + j][bi], ws[wb + i], y);
        f = Math.fma(y, y, f);
      }
      float fu = Math.fma(bm[bi], w2, f);
      if (fu > cand.threshold[b]) cand.offer(b, fu, tb.badPos[bi]);
    }
  }

  void scanPair(int b, int b2, int o0, int len) {
    float[][] a = tb.a;
    int t = 0;
    while (true) {
      t = p == 3
          ? BoundKernels.scan3x2(cbuf, cbuf2, a[0], a[1], a[2], a[3], a[4], a[5], tb.marg, o0, t, len,
              w2f[b], cand.threshold[b], w2f[b2], cand.threshold[b2], tmp, tmp2)
          : BoundKernels.scan4x2(cbuf, cbuf2, a, tb.marg, o0, t, len, w2f[b], cand.threshold[b], w2f[b2], cand.threshold[b2], tmp, tmp2);
      if (t >= len) return;
      offerLanes(b, o0 + t);
      System.arraycopy(tmp2, 0, tmp, 0, VL);
      offerLanes(b2, o0 + t);
      t += VL;
    }
  }

  void corrVec(int b, int o0, int len) {
    corrVecInto(b, o0, len, cbuf);
  }

  void corrVecInto(int b, int o0, int len, float[] cbuf) {
    float[] v = tb.v;
    int base = o0 + 1;
    int end = len + p - 1;
    int wb = b * c;
    if (c == 8) BoundKernels.corr8(v, cbuf, ws, wb, base, end, p);
    else if (c == 12) BoundKernels.corr12(v, cbuf, ws, wb, base, end, p);
    else {
      for (int t = 0; t < end; t += VL) {
        int m = base + t;
        FloatVector acc = FloatVector.fromArray(S, v, m).mul(ws[wb]);
        for (int i = 1; i < c; i++) acc = FloatVector.fromArray(S, v, m + i * p).fma(FloatVector.broadcast(S, ws[wb + i]), acc);
        acc.intoArray(cbuf, t);
      }
    }
  }

  void corrScalar(int b, int o0, int len) {
    float[] v = tb.v;
    int base = o0 + 1;
    int end = len + p - 1;
    int wb = b * c;
    for (int t = 0; t < end; t++) {
      int m = base + t;
      float acc = v[m] * ws[wb];
      for (int i = 1; i < c; i++) acc = Math.fma(v[m + i * p], ws[wb + i], acc);
      cbuf[t] = acc;
    }
  }

  void scanVec3(int b, int o0, int len) {
    float[][] a = tb.a;
    int t = 0;
    while ((t = BoundKernels.scan3(cbuf, a[0], a[1], a[2], a[3], a[4], a[5], tb.marg, o0, t, len, w2f[b], cand.threshold[b], tmp)) < len) {
      offerLanes(b, o0 + t);
      t += VL;
    }
  }

  void scanVec4(int b, int o0, int len) {
    float[][] a = tb.a;
    int t = 0;
    while ((t = BoundKernels.scan4(cbuf, a, tb.marg, o0, t, len, w2f[b], cand.threshold[b], tmp)) < len) {
      offerLanes(b, o0 + t);
      t += VL;
    }
  }

  void scanVecGen(int b, int o0, int len) {
    float[][] a = tb.a;
    float[] mg = tb.marg;
    FloatVector w2 = FloatVector.broadcast(S, w2f[b]);
    float th = cand.threshold[b];
    for (int t = 0; t < len; t += VL) {
      int o = o0 + t;
      FloatVector f = FloatVector.zero(S);
      for (int kk = 0; kk < p; kk++) {
        FloatVector y = FloatVector.zero(S);
        for (int j = 0; j <= kk; j++)
          y = FloatVector.fromArray(S, a[SeedTables.tri(kk, j)], o)
              .fma(FloatVector.fromArray(S, cbuf, t + j), y);
        f = y.fma(y, f);
      }
      FloatVector fu = FloatVector.fromArray(S, mg, o).fma(w2, f);
      if (fu.compare(VectorOperators.GT, th).anyTrue()) {
        offerLanesScalar(b, o0, t);
        th = cand.threshold[b];
      }
    }
  }

  void scanScalar(int b, int o0, int len) {
    float[][] a = tb.a;
    float[] mg = tb.marg;
    float w2 = w2f[b];
    int n = tb.n;
    for (int t = 0; t < len; t++) {
      int o = o0 + t;
      float f = 0;
      for (int kk = 0; kk < p; kk++) {
        float y = 0;
        for (int j = 0; j <= kk; j++) y = Math.fma(a[SeedTables.tri(kk, j)][o], cbuf[t + j], y);
        f = Math.fma(y, y, f);
      }
      float fu = Math.fma(mg[o], w2, f);
      if (fu > cand.threshold[b] && o < n) cand.offer(b, fu, o);
    }
  }

  /** Recomputes the 8 lanes in scalar (same operations as the vector code) and offers them. */
  void offerLanesScalar(int b, int o0, int t0) {
    float[][] a = tb.a;
    float[] mg = tb.marg;
    float w2 = w2f[b];
    int n = tb.n;
    for (int t = t0; t < t0 + VL; t++) {
      int o = o0 + t;
      float f = 0;
      for (int kk = 0; kk < p; kk++) {
        float y = a[SeedTables.tri(kk, 0)][o] * cbuf[t];
        for (int j = 1; j <= kk; j++) y = Math.fma(a[SeedTables.tri(kk, j)][o], cbuf[t + j], y);
        f = kk == 0 ? y * y : Math.fma(y, y, f);
      }
      float fu = Math.fma(mg[o], w2, f);
      if (fu > cand.threshold[b] && o < n) cand.offer(b, fu, o);
    }
  }

  void offerLanes(int b, int o) {
    int n = tb.n;
    for (int l = 0; l < VL; l++) if (tmp[l] > cand.threshold[b] && o + l < n) cand.offer(b, tmp[l], o + l);
  }
}
