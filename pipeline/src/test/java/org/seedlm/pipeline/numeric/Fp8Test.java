package org.seedlm.pipeline.numeric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsFile;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * FP8 to float against values worked out by hand from the bit layouts (OCP FP8: E4M3 bias 7, no infinities,
 * S.1111.111 = NaN; E5M2 bias 15, IEEE-like), then through the safetensors reader.
 */
class Fp8Test {

  /** {bits, value}: value = (-1)^s * (1 + m/8) * 2^(e-7), or m/8 * 2^-6 when e = 0. */
  static final float[][] E4M3 = {
      {0x00, 0f}, {0x80, -0f},
      {0x01, 0.001953125f},          // e=0 m=1: 1/8 * 2^-6 = 2^-9, smallest subnormal
      {0x07, 0.013671875f},          // e=0 m=7: 7/8 * 2^-6
      {0x08, 0.015625f},             // e=1 m=0: 2^-6, smallest normal
      {0x38, 1f},                    // e=7 m=0
      {0x3C, 1.5f},                  // e=7 m=4
      {0x40, 2f},                    // e=8
      {0xC4, -3f},                   // s=1 e=8 m=4: -1.5 * 2
      {0x78, 256f},                  // e=15 m=0: 2^8 (a number, not infinity)
      {0x7E, 448f},                  // e=15 m=6: 1.75 * 2^8, largest
      {0xFE, -448f},
  };

  /** {bits, value}: value = (-1)^s * (1 + m/4) * 2^(e-15), or m/4 * 2^-14 when e = 0. */
  static final float[][] E5M2 = {
      {0x00, 0f}, {0x80, -0f},
      {0x01, 1.52587890625e-5f},     // e=0 m=1: 1/4 * 2^-14 = 2^-16
      {0x04, 6.103515625e-5f},       // e=1 m=0: 2^-14
      {0x3C, 1f},                    // e=15
      {0x3E, 1.5f},                  // e=15 m=2
      {0xC0, -2f},                   // s=1 e=16
      {0x7B, 57344f},                // e=30 m=3: 1.75 * 2^15, largest
      {0x7C, Float.POSITIVE_INFINITY}, {0xFC, Float.NEGATIVE_INFINITY},
  };

  @Test
  void e4m3MatchesTheHandTable() {
    for (float[] r : E4M3) {
      assertEquals(Float.floatToIntBits(r[1]), Float.floatToIntBits(HalfFloats.fp8E4M3ToFloat((int) r[0])),
          () -> Integer.toHexString((int) r[0]));
    }
    assertTrue(Float.isNaN(HalfFloats.fp8E4M3ToFloat(0x7F)));
    assertTrue(Float.isNaN(HalfFloats.fp8E4M3ToFloat(0xFF)));
    int nans = 0;
    for (int b = 0; b < 256; b++) {
      nans += Float.isNaN(HalfFloats.fp8E4M3ToFloat(b)) ? 1 : 0;
      assertTrue(!Float.isInfinite(HalfFloats.fp8E4M3ToFloat(b)), "E4M3 has no infinities");
    }
    assertEquals(2, nans, "only S.1111.111 is NaN");
  }

  @Test
  void e5m2MatchesTheHandTable() {
    for (float[] r : E5M2) {
      assertEquals(Float.floatToIntBits(r[1]), Float.floatToIntBits(HalfFloats.fp8E5M2ToFloat((int) r[0])),
          () -> Integer.toHexString((int) r[0]));
    }
    int nans = 0;
    for (int b = 0; b < 256; b++) {
      nans += Float.isNaN(HalfFloats.fp8E5M2ToFloat(b)) ? 1 : 0;
    }
    assertEquals(6, nans, "exponent 31 with m = 1, 2, 3, both signs");
  }

  @Test
  void theReaderReadsFp8TensorsAsFloats(@TempDir java.nio.file.Path dir) throws Exception {
    byte[] e4 = new byte[E4M3.length];
    byte[] e5 = new byte[E5M2.length];
    for (int i = 0; i < e4.length; i++) {
      e4[i] = (byte) (int) E4M3[i][0];
    }
    for (int i = 0; i < e5.length; i++) {
      e5[i] = (byte) (int) E5M2[i][0];
    }
    Path p = new Path(dir.resolve("fp8.safetensors").toString());
    Configuration conf = new Configuration();
    new SafetensorsWriter()
        .add("a", DType.F8_E4M3, new long[] {1, e4.length}, e4)
        .add("b", DType.F8_E5M2, new long[] {e5.length}, e5)
        .write(p, conf);
    try (SafetensorsFile f = SafetensorsFile.open(p, conf)) {
      assertEquals(DType.F8_E4M3, f.info("a").dtype());
      float[] a = new float[e4.length];
      f.readFloats("a", 0, a.length, a, 0);
      float[] b = new float[e5.length];
      f.readFloats("b", 0, b.length, b, 0);
      for (int i = 0; i < a.length; i++) {
        assertEquals(Float.floatToIntBits(E4M3[i][1]), Float.floatToIntBits(a[i]), "a[" + i + "]");
      }
      for (int i = 0; i < b.length; i++) {
        assertEquals(Float.floatToIntBits(E5M2[i][1]), Float.floatToIntBits(b[i]), "b[" + i + "]");
      }
    }
  }
}
