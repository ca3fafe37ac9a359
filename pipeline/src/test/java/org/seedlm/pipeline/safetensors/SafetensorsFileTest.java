package org.seedlm.pipeline.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
  @TempDir java.nio.file.Path dir;
  private final Configuration conf = new Configuration();

  @Test
  void readsGoldenPatternsOfEachFloatDtype() throws Exception {
    float[] f32 = {1.0f, -2.5f, Float.MIN_VALUE, Float.MAX_VALUE, -0.0f, 3.1415927f};
    // F16: 1, -2, smallest subnormal 2^-24, largest 65504, -0, +inf, 0.5
    int[] f16 = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x8000, 0x7C00, 0x3800};
    float[] f16Want = {1f, -2f, 0x1p-24f, 65504f, -0.0f, Float.POSITIVE_INFINITY, 0.5f};
    // BF16: 1, -2, smallest subnormal 2^-133, 3.0 (0x4040), -inf
    int[] bf16 = {0x3F80, 0xC000, 0x0001, 0x4040, 0xFF80};
    float[] bf16Want = {1f, -2f, 0x1p-133f, 3f, Float.NEGATIVE_INFINITY};
    double[] f64 = {0.1, -1e300, 1.5};
    float[] f64Want = {0.1f, Float.NEGATIVE_INFINITY, 1.5f};
    SafetensorsWriter w = new SafetensorsWriter()
        .metadata("format", "pt")
        .add("f32", DType.F32, new long[] {2, 3}, Fixtures.le32(f32))
        .add("f16", DType.F16, new long[] {7}, Fixtures.le16(f16))
        .add("bf16", DType.BF16, new long[] {5}, Fixtures.le16(bf16))
        .add("f64", DType.F64, new long[] {3}, Fixtures.le64(f64))
        .add("i32", DType.I32, new long[] {2}, Fixtures.leInts(7, -1));
    Path p = Fixtures.write(dir.resolve("golden.safetensors"), w);
    try (SafetensorsFile f = SafetensorsFile.open(p, conf)) {
      assertEquals(List.of("f32", "f16", "bf16", "f64", "i32"), new ArrayList<>(f.tensors().keySet()));
      assertEquals("pt", f.metadata().get("format"));
      assertArrayEquals(f32, read(f, "f32", 0, 6));
      assertArrayEquals(f16Want, read(f, "f16", 0, 7));
      assertArrayEquals(bf16Want, read(f, "bf16", 0, 5));
      assertArrayEquals(f64Want, read(f, "f64", 0, 3));
      assertArrayEquals(Fixtures.leInts(-1), f.readBytes("i32", 4, 4));
      CheckpointException e = assertThrows(CheckpointException.class, () -> read(f, "i32", 0, 1));
      assertTrue(e.getMessage().contains("golden.safetensors") && e.getMessage().contains("'i32'")
          && e.getMessage().contains("I32"), e.getMessage());
      assertEquals(new TensorInfo("f16", DType.F16, new long[] {7}, 24, 38), f.info("f16"));
    }
  }

  @Test
  void oddSlicesEqualThePartsOfTheWholeTensor() throws Exception {
    Random rnd = new Random(42);
    int n = 1001;
    int[] f16 = new int[n];
    int[] bf16 = new int[n];
    float[] f32 = new float[n];
    for (int i = 0; i < n; i++) {
      f16[i] = rnd.nextInt(0x7C00) | (rnd.nextBoolean() ? 0x8000 : 0); // finite
      bf16[i] = rnd.nextInt(0x7F80) | (rnd.nextBoolean() ? 0x8000 : 0);
      f32[i] = (float) rnd.nextGaussian();
    }
    SafetensorsWriter w = new SafetensorsWriter()
        .add("a", DType.F16, new long[] {7, 11, 13}, Fixtures.le16(f16))
        .add("b", DType.BF16, new long[] {n}, Fixtures.le16(bf16))
        .add("c", DType.F32, new long[] {n, 1}, Fixtures.le32(f32));
    Path p = Fixtures.write(dir.resolve("slices.safetensors"), w);
    try (SafetensorsFile f = SafetensorsFile.open(p, conf)) {
      for (String t : List.of("a", "b", "c")) {
        float[] whole = read(f, t, 0, n);
        int[][] cases = {{0, 1}, {1, 3}, {3, 997}, {500, 501}, {999, 2}, {1000, 1}, {7, 0}, {1001, 0}};
        for (int[] c : cases) {
          float[] dst = new float[c[1] + 5];
          f.readFloats(t, c[0], c[1], dst, 3);
          float[] got = java.util.Arrays.copyOfRange(dst, 3, 3 + c[1]);
          assertArrayEquals(java.util.Arrays.copyOfRange(whole, c[0], c[0] + c[1]), got, t + " " + c[0]);
        }
      }
      assertArrayEquals(f32, read(f, "c", 0, n));
    }
  }

  @Test
  void sliceOfLargeTensorReadsOnlyItsBytes() throws Exception {
    int n = 1 << 21; // 8 MiB of F32
    Path p = Fixtures.write(dir.resolve("big.safetensors"), new SafetensorsWriter()
        .add("big", DType.F32, new long[] {1 << 11, 1 << 10}, out -> {
          byte[] buf = new byte[4096];
          java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(buf).order(java.nio.ByteOrder.LITTLE_ENDIAN);
          for (int i = 0; i < n; i++) {
            bb.putFloat(i * 0.5f);
            if (!bb.hasRemaining()) {
              out.write(buf);
              bb.clear();
            }
          }
        }));
    try (SafetensorsFile f = SafetensorsFile.open(p, conf)) {
      long afterHeader = f.bytesRead();
      assertEquals(f.header().dataStart(), afterHeader);
      float[] dst = read(f, "big", 1_234_567, 1000);
      for (int i = 0; i < 1000; i++) {
        assertEquals((1_234_567 + i) * 0.5f, dst[i]);
      }
      assertEquals(afterHeader + 4000, f.bytesRead());
      // a slice spanning several 1 MiB chunks
      int count = 700_001;
      float[] big = read(f, "big", 333_333, count);
      for (int i = 0; i < count; i++) {
        assertEquals((333_333 + i) * 0.5f, big[i]);
      }
      assertEquals(afterHeader + 4000 + 4L * count, f.bytesRead());
      assertTrue(f.bytesRead() < f.length() / 2);
    }
  }

  @Test
  void concurrentPositionalReads() throws Exception {
    int n = 100_000;
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = i;
    }
    Path p = Fixtures.write(dir.resolve("conc.safetensors"),
        new SafetensorsWriter().addF32("v", new long[] {n}, v));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try (SafetensorsFile f = SafetensorsFile.open(p, conf)) {
      List<Future<Boolean>> fs = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int seed = t;
        fs.add(pool.submit(() -> {
          Random r = new Random(seed);
          for (int k = 0; k < 50; k++) {
            int first = r.nextInt(n - 500);
            int count = r.nextInt(500);
            float[] dst = new float[count];
            f.readFloats("v", first, count, dst, 0);
            for (int i = 0; i < count; i++) {
              if (dst[i] != first + i) {
                return false;
              }
            }
          }
          return true;
        }));
      }
      for (Future<Boolean> fu : fs) {
        assertTrue(fu.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void boundsAndUnknownTensorsAreClearErrors() throws Exception {
    Path p = Fixtures.write(dir.resolve("bounds.safetensors"),
        new SafetensorsWriter().addF32("w", new long[] {2, 2}, new float[] {1, 2, 3, 4}));
    try (SafetensorsFile f = SafetensorsFile.open(p, conf)) {
      String m = assertThrows(CheckpointException.class, () -> f.info("nope")).getMessage();
      assertTrue(m.startsWith("Cannot read ") && m.contains("bounds.safetensors")
          && m.contains("tensor 'nope' does not exist"), m);
      m = assertThrows(CheckpointException.class, () -> read(f, "w", 2, 3)).getMessage();
      assertTrue(m.contains("bounds.safetensors") && m.contains("'w'") && m.contains("outside its 4 elements"), m);
      m = assertThrows(CheckpointException.class, () -> read(f, "w", -1, 1)).getMessage();
      assertTrue(m.contains("outside"), m);
      m = assertThrows(CheckpointException.class, () -> f.readBytes("w", 10, 7)).getMessage();
      assertTrue(m.contains("'w'") && m.contains("outside its 16 bytes"), m);
      assertThrows(IndexOutOfBoundsException.class, () -> f.readFloats("w", 0, 4, new float[3], 0));
      assertArrayEquals(new float[] {3, 4}, read(f, "w", 2, 2));
    }
  }

  @Test
  void finiteCheckNamesTheElement() throws Exception {
    Path p = Fixtures.write(dir.resolve("nan.safetensors"), new SafetensorsWriter()
        .add("h", DType.F16, new long[] {4}, Fixtures.le16(0x3C00, 0x3C00, 0x7E00, 0x3C00)));
    try (SafetensorsFile f = SafetensorsFile.open(p, conf)) {
      float[] dst = new float[2];
      f.readFiniteFloats("h", 0, 2, dst, 0);
      String m = assertThrows(CheckpointException.class,
          () -> f.readFiniteFloats("h", 1, 2, new float[3], 1)).getMessage();
      assertTrue(m.contains("nan.safetensors") && m.contains("'h'") && m.contains("element 2 is NaN"), m);
      assertEquals(-1, SafetensorsFile.firstNonFinite(new float[] {1, 2}, 0, 2));
      assertEquals(1, SafetensorsFile.firstNonFinite(new float[] {1, Float.NEGATIVE_INFINITY}, 0, 2));
      assertFalse(f.contains("x"));
    }
  }

  private static float[] read(SafetensorsFile f, String t, long first, int count) throws Exception {
    float[] dst = new float[count];
    f.readFloats(t, first, count, dst, 0);
    return dst;
  }
}
