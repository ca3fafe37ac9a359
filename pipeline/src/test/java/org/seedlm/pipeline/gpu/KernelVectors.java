package org.seedlm.pipeline.gpu;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.seedlm.pipeline.codec.Lfsr;
import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Test vectors for the CUDA kernels' arithmetic ({@code cuda/vectors.h} reads them), written by the
 * Java side with the Java results, and the reader of what {@code cuda/harness.cpp} computed.
 *
 * <p>File (little-endian): {@code "SLMVEC01"}; i32 nTables, per table i32 C, P, K, tapMask, f64
 * pinv[2^K * C * P] (SeedBasis.pinv(), slot 0 included); i32 nDecode, per case str name, i32 table,
 * i32 G, i64 numel, i64 blocks, i32 nOffsets, i8 offsets[nOffsets] (0 offsets: version 1), i64
 * packedLen, u8 packed[packedLen], f32 expected[numel]; i32 nSearch, per case str name, i32 table,
 * i32 rule (0 nearest, 1 best), i32 G, i32 nBlocks, i32 nOffsets, i8 offsets[], f32 w[nBlocks * C],
 * then the expected i32 seed[n], i32 e_rel[n], i32 q[n * P], f64 err[n]. A str is i32 length + UTF-8.
 *
 * <p>{@link CudaHarnessTest#writesGpuCheckVectors} writes the GPU check's (larger) vectors.
 */
final class KernelVectors {
  record Decode(String name, SeedLmParams params, int g, long numel, long blocks, byte[] offsets, byte[] packed, float[] expected) {}

  record Search(String name, SeedLmParams params, int rule, int g, int nBlocks, byte[] offsets, float[] w, SeedChoice[] expected) {}

  final List<SeedLmParams> tables = new ArrayList<>();
  final List<Decode> decode = new ArrayList<>();
  final List<Search> search = new ArrayList<>();

  int table(SeedLmParams p) {
    int i = tables.indexOf(p);
    if (i >= 0) return i;
    tables.add(p);
    return tables.size() - 1;
  }

  void add(Decode d) {
    table(d.params());
    decode.add(d);
  }

  void add(Search s) {
    table(s.params());
    search.add(s);
  }

  void write(Path file) throws IOException {
    try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      Le o = new Le(os);
      os.write("SLMVEC01".getBytes(StandardCharsets.US_ASCII));
      o.i32(tables.size());
      for (SeedLmParams p : tables) {
        int mask = 0;
        for (int t : Lfsr.taps(p.k())) mask |= 1 << t;
        o.i32(p.c()).i32(p.p()).i32(p.k()).i32(mask);
        for (double v : SeedBasis.of(p).pinv()) o.f64(v);
      }
      o.i32(decode.size());
      for (Decode d : decode) {
        o.str(d.name()).i32(table(d.params())).i32(d.g()).i64(d.numel()).i64(d.blocks());
        byte[] off = d.offsets() == null ? new byte[0] : d.offsets();
        o.i32(off.length).bytes(off).i64(d.packed().length).bytes(d.packed());
        for (float v : d.expected()) o.f32(v);
      }
      o.i32(search.size());
      for (Search s : search) {
        byte[] off = s.offsets() == null ? new byte[0] : s.offsets();
        o.str(s.name()).i32(table(s.params())).i32(s.rule()).i32(s.g()).i32(s.nBlocks());
        o.i32(off.length).bytes(off);
        for (int i = 0; i < s.nBlocks() * s.params().c(); i++) o.f32(s.w()[i]);
        for (SeedChoice ch : s.expected()) o.i32(ch.seed());
        for (SeedChoice ch : s.expected()) o.i32(ch.exponent());
        for (SeedChoice ch : s.expected()) for (int v : ch.q()) o.i32(v);
        for (SeedChoice ch : s.expected()) o.f64(ch.err());
      }
      o.flush();
    }
  }

  /** What the harness computed, in the order of the cases. */
  record Results(List<float[]> decoded, List<SeedChoice[]> searched) {}

  Results readResults(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      DataInputStream din = new DataInputStream(new java.io.BufferedInputStream(in, 1 << 20));
      List<float[]> dec = new ArrayList<>();
      for (Decode d : decode) {
        ByteBuffer bb = read(din, 4 * (int) d.numel());
        float[] f = new float[(int) d.numel()];
        bb.asFloatBuffer().get(f);
        dec.add(f);
      }
      List<SeedChoice[]> srch = new ArrayList<>();
      for (Search s : search) {
        int n = s.nBlocks(), p = s.params().p();
        ByteBuffer bb = read(din, n * (4 + 4 + 4 * p + 8));
        int[] seed = new int[n], e = new int[n], q = new int[n * p];
        double[] err = new double[n];
        for (int i = 0; i < n; i++) seed[i] = bb.getInt();
        for (int i = 0; i < n; i++) e[i] = bb.getInt();
        for (int i = 0; i < n * p; i++) q[i] = bb.getInt();
        for (int i = 0; i < n; i++) err[i] = bb.getDouble();
        SeedChoice[] out = new SeedChoice[n];
        for (int i = 0; i < n; i++) {
          out[i] = new SeedChoice(seed[i], e[i], java.util.Arrays.copyOfRange(q, i * p, i * p + p), err[i]);
        }
        srch.add(out);
      }
      if (din.read() != -1) throw new IOException("harness output " + file + " is longer than expected");
      return new Results(dec, srch);
    }
  }

  private static ByteBuffer read(DataInputStream in, int n) throws IOException {
    byte[] b = new byte[n];
    in.readFully(b);
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Little-endian writer. */
  private static final class Le {
    private final OutputStream os;
    private final ByteBuffer bb = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    Le(OutputStream os) {
      this.os = os;
    }

    private Le put(int n) throws IOException {
      os.write(bb.array(), 0, n);
      bb.clear();
      return this;
    }

    Le i32(int v) throws IOException { bb.putInt(0, v); return put(4); }
    Le i64(long v) throws IOException { bb.putLong(0, v); return put(8); }
    Le f32(float v) throws IOException { bb.putFloat(0, v); return put(4); }
    Le f64(double v) throws IOException { bb.putDouble(0, v); return put(8); }
    Le bytes(byte[] b) throws IOException { os.write(b); return this; }
    Le str(String s) throws IOException {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      return i32(b.length).bytes(b);
    }
    void flush() throws IOException { os.flush(); }
  }

  // ---------------------------------------------------------------------------------------------
  // Random packed tensors and blocks

  /** A random packed tensor of numel weights: random bits, every seed field made nonzero. */
  static byte[] randomPacked(SeedLmParams p, long blocks, SplittableRandom rnd) {
    byte[] packed = new byte[(int) ((blocks * p.bitsPerBlock() + 7) / 8)];
    rnd.nextBytes(packed);
    for (long b = 0; b < blocks; b++) {
      long pos = b * p.bitsPerBlock();
      if (org.seedlm.pipeline.codec.Bits.read(packed, pos, p.k()) == 0) {
        org.seedlm.pipeline.codec.Bits.write(packed, pos, p.k(), 1 + rnd.nextInt(p.numSeeds()));
      }
    }
    return packed;
  }

  /** Random offsets in [-100, 100] for ceil(blocks / g) groups. */
  static byte[] randomOffsets(long blocks, int g, SplittableRandom rnd) {
    byte[] o = new byte[(int) ((blocks + g - 1) / g)];
    for (int i = 0; i < o.length; i++) o[i] = (byte) (rnd.nextInt(201) - 100);
    return o;
  }

  /** Offsets by SPEC 4b's reference rule over the given weights (groups of g blocks of C). */
  static byte[] referenceOffsets(float[] w, int nBlocks, int c, int g) {
    byte[] o = new byte[(nBlocks + g - 1) / g];
    for (int i = 0; i < o.length; i++) {
      o[i] = (byte) SeedLmCodec.groupOffset(w, i * g * c, (Math.min(nBlocks, (i + 1) * g) - i * g) * c);
    }
    return o;
  }

  /** Gaussian blocks of standard deviation sigma, with a few exact zeros and one all-zero block. */
  static float[] gaussian(int nBlocks, int c, double sigma, SplittableRandom rnd) {
    float[] w = new float[nBlocks * c];
    for (int i = 0; i < w.length; i++) w[i] = (float) (sigma * gauss(rnd));
    if (nBlocks > 2) java.util.Arrays.fill(w, c, 2 * c, 0f);
    return w;
  }

  static double gauss(SplittableRandom rnd) {
    double u = 1 - rnd.nextDouble(), v = rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
