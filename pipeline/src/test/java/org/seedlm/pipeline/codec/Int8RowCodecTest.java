package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.numeric.HalfFloats;

class Int8RowCodecTest {

  @Test
  void goldenByHand() {
    // rms = sqrt((127^2 + 3.4^2 + 1000^2 + 254^2 + 10.6^2 + 2000^2) / 6) = 920.2; at sigma 1 column 2
    // (1000, 2000) is the outlier column. Row 0: s = 127/127 = 1, q = 127, 3; row 1: s = 2, q = -127, 5.
    float[] w = {127f, 3.4f, 1000f, -254f, 10.6f, 2000f};
    Int8RowCodec c = new Int8RowCodec(1.0);
    assertArrayEquals(new boolean[] {false, false, true}, c.outlierColumns(w, 2, 3));
    byte[] enc = c.encode(w, 2, 3);
    // 4 (count) + 1 (bitmap) + 2 rows x 1 outlier x 2 + 2 rows x (16 + 2 x 8) bits
    assertEquals(4 + 1 + 4 + 8, enc.length);
    assertArrayEquals(new float[] {127f, 3f, 1000f, -254f, 10f, 2000f}, c.decode(enc, 2, 3));
    assertEquals(8.0 * 17 / 6, TensorCodec.bitsPerWeight(enc, 2, 3), 1e-12);
  }

  @Test
  void matchesBruteForceWithoutOutliers() {
    SplittableRandom rnd = new SplittableRandom(3);
    for (int[] shape : new int[][] {{1, 1}, {3, 7}, {17, 33}, {8, 128}}) {
      int rows = shape[0];
      int cols = shape[1];
      float[] w = new float[rows * cols];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (rnd.nextGaussian() * 0.05);
      }
      float[] got = new Int8RowCodec(Int8RowCodec.NO_OUTLIERS).decode(
          new Int8RowCodec(Int8RowCodec.NO_OUTLIERS).encode(w, rows, cols), rows, cols);
      for (int r = 0; r < rows; r++) {
        float max = 0;
        for (int c = 0; c < cols; c++) {
          max = Math.max(max, Math.abs(w[r * cols + c]));
        }
        float s = HalfFloats.f16ToFloat(HalfFloats.floatToF16(max / 127));
        for (int c = 0; c < cols; c++) {
          float q = (float) Math.max(-127, Math.min(127, Math.rint(w[r * cols + c] / s)));
          assertEquals(q * s, got[r * cols + c], 0f, "row " + r + " col " + c);
        }
      }
    }
  }

  @Test
  void allColumnsOutliersAndAllZero() {
    float[] w = {1f, -2f, 3f, 0.5f};
    Int8RowCodec c = new Int8RowCodec(0.01);
    byte[] enc = c.encode(w, 2, 2);
    assertEquals(4 + 1 + 8, enc.length);
    assertArrayEquals(w, c.decode(enc, 2, 2));
    float[] zeros = new float[6];
    assertArrayEquals(zeros, new Int8RowCodec(6).decode(new Int8RowCodec(6).encode(zeros, 2, 3), 2, 3));
  }

  @Test
  void namesAndBadInput() {
    assertEquals("int8-row", TensorCodecs.parse("int8-row").name());
    assertEquals("int8-row-onone", TensorCodecs.parse("int8-row-onone").name());
    assertEquals("int8-row-o8", TensorCodecs.parse("int8-row-o8.0").name());
    assertEquals("int8-row-o2.5", TensorCodecs.parse("int8-row-o2.5").name());
    assertThrows(BadInputException.class, () -> TensorCodecs.parse("int8-row-o0"));
    assertThrows(BadInputException.class, () -> TensorCodecs.parse("int8-col"));
    assertThrows(IllegalArgumentException.class, () -> new Int8RowCodec(6).encode(new float[] {Float.NaN}, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new Int8RowCodec(6).encode(new float[3], 2, 2));
  }

  @Test
  void tensorsTooLargeForOneRowAreRefusedNamingThem() {
    // the limits: one float[] of weights, and an encoding whose length in bits fits the 32-bit bits column
    TensorCodec.checkSize("int8-row", "t", TensorCodec.MAX_WEIGHTS, TensorCodec.MAX_ENCODED_BYTES);
    assertEquals(268_435_455, TensorCodec.MAX_ENCODED_BYTES);
    assertEquals(Integer.MAX_VALUE, 8L * TensorCodec.MAX_ENCODED_BYTES + 7);
    BadInputException w = assertThrows(BadInputException.class,
        () -> TensorCodec.checkSize("kashin", "lm_head.weight", 16384L * 131072, -1));
    assertEquals("Cannot quantize lm_head.weight with kashin: it has 2,147,483,648 weights, more than the "
        + "2,147,483,639 a tensor-level codec encodes at once; quantize it with a block codec (seedlm-4bit, "
        + "rtn-sym-b4-g128, nf4-g64, ...) in another run, or leave it out of this one with --exclude", w.getMessage());
    BadInputException b = assertThrows(BadInputException.class,
        () -> TensorCodec.checkSize("int8-row", "model.layers.0.mlp.down_proj.weight", 300_000_000, 318_750_004));
    assertEquals(true, b.getMessage().contains("its encoding is 318,750,004 bytes, more than the 268,435,455 one "
        + "block-table row holds"), b.getMessage());
  }
}
