package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.numeric.HalfFloats;

class KashinCodecTest {

  /** Relative error on Gaussian weights at 4 bits (data-free); RTN 4-bit sym g128 gives about 0.13. */
  private static final double MAX_RELATIVE_ERROR_GAUSSIAN = 0.2;

  private static float[] gaussian(int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) (rnd.nextGaussian() * 0.04);
    }
    return w;
  }

  @Test
  void transformIsAnOrthogonalInvolution() {
    int n = 16;
    KashinCodec c = new KashinCodec(n, 2);
    double[] eps = KashinCodec.signs(KashinCodec.SIGN_SEED, n);
    double[] z = new double[n];
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < n; i++) {
      z[i] = rnd.nextGaussian();
    }
    double[] pz = new double[n];
    double[] ppz = new double[n];
    c.applyP(eps, z, pz, new double[n]);
    c.applyP(eps, pz, ppz, new double[n]);
    double nz = 0;
    double npz = 0;
    for (int i = 0; i < n; i++) {
      assertEquals(z[i], ppz[i], 1e-12, "P P z = z at " + i);
      nz += z[i] * z[i];
      npz += pz[i] * pz[i];
    }
    assertEquals(nz, npz, 1e-9, "P keeps the norm");
  }

  /** An independent decoder: the DCT-II written out as a sum of cosines, per block. */
  private static float[] bruteForceDecode(byte[] enc, int n, int block) {
    ByteBuffer in = ByteBuffer.wrap(enc).order(ByteOrder.LITTLE_ENDIAN);
    double[] eps = KashinCodec.signs(in.getLong(), block);
    double[] centroids = new double[8]; // u's four, then v's four
    for (int q = 0; q < 8; q++) {
      centroids[q] = in.getFloat();
    }
    int blocks = (n + block - 1) / block;
    double[] s = new double[blocks];
    for (int b = 0; b < blocks; b++) {
      s[b] = HalfFloats.f16ToFloat(in.getShort());
    }
    int codeByte = in.position();
    float[] w = new float[n];
    for (int b = 0; b < blocks; b++) {
      double[] v = new double[block];
      double[] u = new double[block];
      for (int i = 0; i < block; i++) {
        int idx = b * block + i;
        int nib = (enc[codeByte + idx / 2] >> (idx % 2 == 0 ? 4 : 0)) & 0xF;
        u[i] = centroids[nib >> 2];
        v[i] = centroids[4 + (nib & 3)];
      }
      for (int i = 0; i < block && b * block + i < n; i++) {
        double pv = 0; // (P v)_i = sum_k C[k][i] eps_k sum_j C[k][j] v_j
        for (int k = 0; k < block; k++) {
          double a = Math.sqrt((k == 0 ? 1.0 : 2.0) / block);
          double ck = 0;
          for (int j = 0; j < block; j++) {
            ck += a * Math.cos(Math.PI * (2 * j + 1) * k / (2.0 * block)) * v[j];
          }
          pv += a * Math.cos(Math.PI * (2 * i + 1) * k / (2.0 * block)) * eps[k] * ck;
        }
        w[b * block + i] = (float) (s[b] * (u[i] + pv));
      }
    }
    return w;
  }

  @Test
  void decoderMatchesIndependentDecoderAndErrorIsBounded() {
    for (int[] shape : new int[][] {{4, 32}, {3, 50}, {1, 7}}) {
      int rows = shape[0];
      int cols = shape[1];
      int n = rows * cols;
      float[] w = gaussian(n, n);
      KashinCodec c = new KashinCodec(32, 4);
      byte[] enc = c.encode(w, rows, cols);
      int blocks = (n + 31) / 32;
      assertEquals(40 + 2 * blocks + (4 * blocks * 32 + 7) / 8, enc.length);
      float[] d = c.decode(enc, rows, cols);
      float[] ref = bruteForceDecode(enc, n, 32);
      for (int i = 0; i < n; i++) {
        assertEquals(ref[i], d[i], 1e-6 * Math.abs(ref[i]) + 1e-9, "weight " + i);
      }
    }
    float[] w = gaussian(64 * 256, 9);
    KashinCodec c = new KashinCodec(256, 4);
    float[] d = c.decode(c.encode(w, 64, 256), 64, 256);
    double err = 0;
    double norm = 0;
    for (int i = 0; i < w.length; i++) {
      err += (w[i] - d[i]) * (double) (w[i] - d[i]);
      norm += w[i] * (double) w[i];
    }
    double rel = Math.sqrt(err / norm);
    assertTrue(rel < MAX_RELATIVE_ERROR_GAUSSIAN, "relative error " + rel);
    assertEquals(4 + 16.0 / 256 + 8.0 * 40 / w.length,
        TensorCodec.bitsPerWeight(c.encode(w, 64, 256), 64, 256), 1e-12);
  }

  @Test
  void zeroTensorAndNames() {
    KashinCodec c = new KashinCodec(8, 2);
    assertArrayEquals(new float[20], c.decode(c.encode(new float[20], 4, 5), 4, 5));
    assertEquals("kashin", TensorCodecs.parse("kashin").name());
    assertEquals("kashin-n64-k2", TensorCodecs.parse("kashin-n64-k2").name());
    assertThrows(BadInputException.class, () -> TensorCodecs.parse("kashin-n1-k2"));
  }
}
