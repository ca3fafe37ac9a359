package org.seedlm.pipeline.decode;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.seedlm.pipeline.codec.Bits;
import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.eval.MatMul;

/**
 * Decodes packed SeedLM blocks (FORMAT.md section 6.1) to float32, bit for bit equal to the
 * canonical {@code SeedLmCodec.decode}.
 *
 * <p>Two decoders over the same packed bit string (block {@code b} at stream bits {@code [b *
 * bitsPerBlock, (b + 1) * bitsPerBlock)}, MSB first):
 *
 * <ul>
 *   <li>{@link #decodeRef}: the reference, {@link SeedLmCodec#readBlock} and {@link
 *       SeedLmCodec#decodeBlock} per block (the fields read bit by bit, then the canonical decode
 *       rule {@link SeedLmCodec#decodeRule} over the float32 U of {@link SeedBasis#uf()}).
 *   <li>{@link #decode}: the fast decoder. Blocks go in batches, in two passes: the first unpacks
 *       each block's fields from one big-endian 64-bit load with shifts (blocks of at most 57 bits,
 *       which covers the 4-bit and the 3-bit configs; wider blocks fall back to the bit reader) and
 *       finds where the columns of its U(s) start; the second computes the weights. U(s) is never
 *       materialized per seed: all U(s) are windows of one LFSR cycle (SPEC section 3), so a table
 *       of about {@code 2^K} floats ({@link Tables}, 256 KiB for K = 16, copied from {@link
 *       SeedBasis#uf()}) gives each column of U(s) as C contiguous floats. The Vector API loads L of
 *       them (L = 8 when C >= 8 and the platform has 256-bit vectors, else 4; chunks at 0, L, 2L, ...
 *       and a last one at C - L that may overlap the previous one, so there is no scalar tail),
 *       multiplies by {@code th_0} and chains lane-wise FMAs with {@code th_1 .. th_(P-1)}, unrolled
 *       for P = 3 and P = 4 (other P take the scalar second pass). Lane-wise multiply and FMA round
 *       exactly as the scalar float {@code *} and {@code Math.fma}, in the same order, so the result
 *       is identical to the reference.
 * </ul>
 *
 * <p>Format version 2 (FORMAT.md section 6.1): every method has a twin taking the tensor's group
 * offsets and G; block {@code b} of the tensor has exponent {@code e = o[b / G] + e_rel}. The fast
 * decoder multiplies its table value {@code q * 2^e_rel} by {@code 2^o} in float32, which is exact
 * (every {@code q * 2^(o + e_rel)} with {@code |o| <= 100} is a normal float), so it stays bit for bit
 * the reference. The methods without offsets decode with every offset 0 (version 1).
 *
 * <p>{@code -Dseedlm.vectorBitSize=0} (or the constructor argument 0) forces the scalar path of
 * {@link #decode} (same unpacking and table, scalar arithmetic). Instances are immutable and
 * thread-safe.
 */
public final class SeedLmDecoder {

  private static final VarHandle LONG_BE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT_BE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT_LE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  private static final ConcurrentHashMap<SeedLmParams, Tables> TABLES = new ConcurrentHashMap<>();
  private static final VectorSpecies<Float> S4 = FloatVector.SPECIES_128;
  private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;
  /** Whether MatMul's L is 16 (a constant, so that dotRows compiles one of its two steps). */
  private static final boolean HALVES = MatMul.species().length() == 16;
  /**
   * Integer lanes of {@link #dotRows}'s unpacking: 8, so that its float vectors are of the class of the weights' (a
   * second class at the same call sites makes JDK 17 give up the intrinsics there).
   */
  private static final VectorSpecies<Integer> DOT_INTS = IntVector.SPECIES_256;
  private static final VectorSpecies<Byte> DOT_BYTES = ByteVector.SPECIES_256;
  /** Whether a byte vector reinterpreted as ints reads each 4 bytes little-endian here (see {@link #wordsLe}). */
  private static final boolean BYTES_AS_INTS_LE =
      ByteVector.fromArray(DOT_BYTES, new byte[] {1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          0, 0, 0, 0, 0, 0, 0, 0}, 0).reinterpretAsInts().lane(0) == 0x04030201;
  private static final ConcurrentHashMap<SeedLmParams, SeedLmDecoder> DEFAULTS = new ConcurrentHashMap<>();

  /** {@code POW2_OFFSET[o + 100] = 2^o} for the exponent offsets o in [-100, 100], exact in float. */
  private static final float[] POW2_OFFSET = new float[SeedLmCodec.MAX_OFFSET - SeedLmCodec.MIN_OFFSET + 1];

  private static final int[] NO_OFFSETS = new int[0];

  /** {@code Q_TIMES_POW2[eBits << 4 | qBits] = q * 2^e} (4-bit two's complement fields), exact in float. */
  private static final float[] Q_TIMES_POW2 = new float[256];

  static {
    for (int i = 0; i < 256; i++) {
      Q_TIMES_POW2[i] = (float) Math.scalb((double) signed4(i & 15), signed4(i >>> 4));
    }
    for (int o = SeedLmCodec.MIN_OFFSET; o <= SeedLmCodec.MAX_OFFSET; o++) {
      POW2_OFFSET[o - SeedLmCodec.MIN_OFFSET] = (float) Math.scalb(1.0, o);
    }
  }

  private final SeedLmParams params;
  private final int c;
  private final int p;
  private final int k;
  private final int bits;
  private final SeedLmCodec codec;
  private final int[] colStart;
  private final int[] colDelta;
  private final float[] cols;
  private final char[] cyclePos; // (2^K,) for K <= 16: 1 + the position of each seed in the cycle, for dotRows
  private final int colLen;
  private static final int BATCH = 64;
  private final VectorSpecies<Float> species; // null: scalar
  private final int lastChunk; // C - L: offset of the last vector chunk of a block

  /**
   * @param params the SeedLM config
   * @param vectorBitSize largest vector size in bits to use (capped at the platform's preferred
   *     size); 0 forces the scalar path
   */
  public SeedLmDecoder(SeedLmParams params, int vectorBitSize) {
    if (params == null) {
      throw new IllegalArgumentException("Cannot create SeedLM decoder: params are required");
    }
    this.params = params;
    this.c = params.c();
    this.p = params.p();
    this.k = params.k();
    this.bits = params.bitsPerBlock();
    SeedBasis basis = SeedBasis.of(params);
    this.codec = new SeedLmCodec(params);
    Tables t = TABLES.computeIfAbsent(params, x -> Tables.build(basis, x));
    this.colStart = t.colStart;
    this.colDelta = t.colDelta;
    this.cols = t.cols;
    this.cyclePos = t.cyclePos;
    this.colLen = t.colLen;
    this.species = pickSpecies(c, vectorBitSize);
    this.lastChunk = species == null ? 0 : c - species.length();
  }

  /** A shared decoder with the default vector size ({@code -Dseedlm.vectorBitSize}, else preferred). */
  public static SeedLmDecoder of(SeedLmParams params) {
    return DEFAULTS.computeIfAbsent(params, x -> new SeedLmDecoder(x, defaultVectorBitSize()));
  }

  /** {@code -Dseedlm.vectorBitSize}, else the platform's preferred float vector size. */
  public static int defaultVectorBitSize() {
    return Integer.getInteger("seedlm.vectorBitSize", FloatVector.SPECIES_PREFERRED.vectorBitSize());
  }

  public SeedLmParams params() {
    return params;
  }

  /** Whether {@link #decode} uses the Vector API. */
  public boolean vectorized() {
    return species != null;
  }

  /** Float lanes per vector of {@link #decode} (0 when scalar). */
  public int lanes() {
    return species == null ? 0 : species.length();
  }

  /** 8 lanes when C >= 8 and 256-bit vectors are allowed, else 4 lanes when C >= 4, else scalar. */
  private static VectorSpecies<Float> pickSpecies(int c, int vectorBitSize) {
    int maxLanes = Math.min(vectorBitSize, FloatVector.SPECIES_PREFERRED.vectorBitSize()) / 32;
    if (maxLanes >= 8 && c >= 8) {
      return S8;
    }
    if (maxLanes >= 4 && c >= 4) {
      return S4;
    }
    return null;
  }

  private static VectorSpecies<Float> species(int lanes) {
    return lanes == 8 ? S8 : S4;
  }

  /**
   * The LFSR-cycle tables of the fast path (SPEC section 3: every U(s) is a window of one cycle).
   * With {@code x[m]} the cycle from state 1, {@code N = 2^K - 1} and {@code pos[s]} the position of
   * seed s in the cycle, let {@code ucycle[m] = u(x[m mod N])} for {@code m < N + C*P + P}, so that
   * U(s) in row-major order is {@code ucycle[pos[s] + 1 .. pos[s] + C*P]}. {@code cols} holds the P
   * decimations of ucycle, {@code cols[r*colLen + n] = ucycle[r + n*P]}, so that column j of U(s)
   * is C contiguous floats at {@code r * colLen + n} with {@code t = pos[s] + 1 + j = n*P + r}. Per
   * seed, {@code colStart[s] = (col0 << 4) | r0} packs where column 0 starts and {@code r0 = (pos[s] +
   * 1) mod P}; column j then starts at {@code col0 + colDelta[r0*P + j]}, so a block needs one table
   * read and no division. The values are copied from {@link SeedBasis#uf()} (the canonical decoder's
   * table): about 1 float and 1 int per seed instead of C*P floats (512 KiB for K = 16). For
   * {@link #dotRows} (K <= 16), {@code cyclePos[s] = pos[s] + 1} as a char: with it the kernel computes the
   * column starts with integer arithmetic ({@link #columnStarts}), and reads 128 KiB + {@code cols} instead of
   * colStart's 256 KiB + {@code cols}.
   */
  private record Tables(int[] colStart, int[] colDelta, float[] cols, char[] cyclePos, int colLen) {
    static Tables build(SeedBasis basis, SeedLmParams params) {
      int cp = params.c() * params.p();
      int p = params.p();
      int[] x = basis.cycle();
      int n = x.length;
      float[] uf = basis.uf();
      int len = n + cp + p + 1;
      float[] ucycle = new float[len];
      for (int m = 0; m < len; m++) {
        int prev = x[((m - 1) % n + n) % n]; // the state before x[m mod N]: its first U entry is u(x[m])
        ucycle[m] = uf[prev * cp];
      }
      int colLen = len / p;
      float[] cols = new float[p * colLen];
      for (int r = 0; r < p; r++) {
        for (int i = 0; i < colLen; i++) {
          cols[r * colLen + i] = ucycle[r + i * p];
        }
      }
      int[] colStart = new int[n + 1]; // col0 < 2^25 (K <= 24), r0 < 16 (P <= 16)
      for (int m = 0; m < n; m++) {
        int t = m + 1;
        colStart[x[m]] = ((t % p) * colLen + t / p) << 4 | t % p;
      }
      int[] colDelta = new int[p * p];
      for (int r = 0; r < p; r++) {
        for (int j = 0; j < p; j++) {
          colDelta[r * p + j] = ((r + j) % p - r) * colLen + (r + j) / p;
        }
      }
      char[] cyclePos = null;
      if (n < 1 << 16) {
        cyclePos = new char[n + 1];
        for (int m = 0; m < n; m++) {
          cyclePos[x[m]] = (char) (m + 1);
        }
      }
      return new Tables(colStart, colDelta, cols, cyclePos, colLen);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reference twin

  /**
   * Reference decode of blocks {@code firstBlock .. firstBlock + nBlocks - 1} of the packed bit
   * string {@code packed} into {@code out[outOff .. outOff + nBlocks*C)}.
   *
   * @throws IllegalArgumentException on a seed 0 (naming the block) or out-of-range arguments
   */
  public void decodeRef(byte[] packed, long firstBlock, int nBlocks, float[] out, int outOff) {
    decodeRef(packed, firstBlock, nBlocks, NO_OFFSETS, 0, out, outOff);
  }

  /**
   * {@link #decodeRef(byte[], long, int, float[], int)} of a version 2 tensor: block {@code b} of the
   * tensor has offset {@code offsets[b / groupBlocks]} ({@code offsets} covers the whole tensor; empty or
   * {@code groupBlocks == 0}: version 1).
   */
  public void decodeRef(byte[] packed, long firstBlock, int nBlocks, int[] offsets, int groupBlocks, float[] out,
      int outOff) {
    check(packed, firstBlock, nBlocks, out, outOff);
    checkOffsets(offsets, groupBlocks, firstBlock + nBlocks);
    for (int b = 0; b < nBlocks; b++) {
      long block = firstBlock + b;
      long pos = block * bits;
      if (Bits.read(packed, pos, k) == 0) {
        throw seedZero(block);
      }
      SeedChoice ch = codec.readBlock(packed, pos);
      codec.decodeBlock(ch.seed(), ch.exponent(), SeedLmCodec.offsetOf(offsets, groupBlocks, block), ch.q(), out,
          outOff + b * c);
    }
  }

  private static int signed4(long v) {
    return ((int) v << 28) >> 28;
  }

  // ---------------------------------------------------------------------------------------------
  // Fast decoder

  /**
   * Fast decode, bit for bit equal to {@link #decodeRef} (same arguments and exceptions). Usable
   * per tensor slice: {@code firstBlock} is the block index within {@code packed}.
   *
   * <p>Blocks go in batches of {@value #BATCH}, in two passes: the first unpacks every block's
   * fields and looks up where its P columns start in {@code cols} (independent table reads, so the
   * CPU overlaps their cache misses), the second multiplies and stores the weights.
   */
  public void decode(byte[] packed, long firstBlock, int nBlocks, float[] out, int outOff) {
    decode(packed, firstBlock, nBlocks, NO_OFFSETS, 0, out, outOff);
  }

  /** {@link #decode(byte[], long, int, float[], int)} of a version 2 tensor, offsets as in {@link #decodeRef}. */
  public void decode(byte[] packed, long firstBlock, int nBlocks, int[] offsets, int groupBlocks, float[] out,
      int outOff) {
    check(packed, firstBlock, nBlocks, out, outOff);
    checkOffsets(offsets, groupBlocks, firstBlock + nBlocks);
    if (bits + 7 > 64) {
      decodeRef(packed, firstBlock, nBlocks, offsets, groupBlocks, out, outOff);
      return;
    }
    boolean scaled = groupBlocks > 0 && offsets.length > 0;
    int[] col = new int[BATCH * p];
    float[] th = new float[BATCH * p];
    for (int b0 = 0; b0 < nBlocks; b0 += BATCH) {
      int nb = Math.min(BATCH, nBlocks - b0);
      unpack(packed, firstBlock + b0, nb, col, th);
      if (scaled) {
        applyOffsets(firstBlock + b0, nb, offsets, groupBlocks, th);
      }
      int o = outOff + b0 * c;
      // straight-line kernels per (lanes, P): no vector is carried around a loop (JDK 17 would box it)
      if (species == S8 && p == 3) {
        combine8p3(nb, col, th, out, o);
      } else if (species == S8 && p == 4) {
        combine8p4(nb, col, th, out, o);
      } else if (species == S4 && p == 3) {
        combine4p3(nb, col, th, out, o);
      } else if (species == S4 && p == 4) {
        combine4p4(nb, col, th, out, o);
      } else {
        combineScalar(nb, col, th, out, o);
      }
    }
  }

  /** The block's bits left-aligned in a long (bits beyond the array read as 0). */
  private static long word(byte[] packed, long pos) {
    int idx = (int) (pos >>> 3);
    int sh = (int) (pos & 7);
    long w;
    if (idx <= packed.length - 8) {
      w = (long) LONG_BE.get(packed, idx);
    } else {
      w = 0;
      for (int i = 0; i < 8; i++) {
        w = (w << 8) | (idx + i < packed.length ? packed[idx + i] & 0xFF : 0);
      }
    }
    return w << sh;
  }

  /**
   * Pass 1: for blocks {@code block0 .. block0 + nb - 1}, {@code th[b*P + j] = (float) (q_j * 2^e)}
   * and {@code col[b*P + j]} = where column j of U(seed) starts in {@code cols} ({@link Tables}).
   */
  private void unpack(byte[] packed, long block0, int nb, int[] col, float[] th) {
    if (p == 3) {
      unpack3(packed, block0, nb, col, th);
      return;
    }
    if (p == 4) {
      unpack4(packed, block0, nb, col, th);
      return;
    }
    long bitPos = block0 * bits;
    for (int b = 0, q = 0; b < nb; b++, bitPos += bits) {
      long w = word(packed, bitPos);
      int seed = (int) (w >>> (64 - k));
      if (seed == 0) {
        throw seedZero(block0 + b);
      }
      long f = w << k;
      int eb = (int) (f >>> 56) & 0xF0;
      int cs = colStart[seed];
      int c0 = cs >>> 4;
      int d = (cs & 15) * p;
      for (int j = 0; j < p; j++, q++) {
        f <<= 4;
        th[q] = Q_TIMES_POW2[eb | (int) (f >>> 60)];
        col[q] = c0 + colDelta[d + j];
      }
    }
  }

  private void unpack3(byte[] packed, long block0, int nb, int[] col, float[] th) {
    long bitPos = block0 * bits;
    final int[] delta = colDelta;
    for (int b = 0, q = 0; b < nb; b++, q += 3, bitPos += bits) {
      long w = word(packed, bitPos);
      int seed = (int) (w >>> (64 - k));
      if (seed == 0) {
        throw seedZero(block0 + b);
      }
      long f = w << k;
      int eb = (int) (f >>> 56) & 0xF0;
      th[q] = Q_TIMES_POW2[(int) (f >>> 56)];
      th[q + 1] = Q_TIMES_POW2[eb | (int) (f >>> 52) & 15];
      th[q + 2] = Q_TIMES_POW2[eb | (int) (f >>> 48) & 15];
      int cs = colStart[seed];
      int c0 = cs >>> 4;
      int d = (cs & 15) * 3;
      col[q] = c0;
      col[q + 1] = c0 + delta[d + 1];
      col[q + 2] = c0 + delta[d + 2];
    }
  }

  private void unpack4(byte[] packed, long block0, int nb, int[] col, float[] th) {
    long bitPos = block0 * bits;
    final int[] delta = colDelta;
    for (int b = 0, q = 0; b < nb; b++, q += 4, bitPos += bits) {
      long w = word(packed, bitPos);
      int seed = (int) (w >>> (64 - k));
      if (seed == 0) {
        throw seedZero(block0 + b);
      }
      long f = w << k;
      int eb = (int) (f >>> 56) & 0xF0;
      th[q] = Q_TIMES_POW2[(int) (f >>> 56)];
      th[q + 1] = Q_TIMES_POW2[eb | (int) (f >>> 52) & 15];
      th[q + 2] = Q_TIMES_POW2[eb | (int) (f >>> 48) & 15];
      th[q + 3] = Q_TIMES_POW2[eb | (int) (f >>> 44) & 15];
      int cs = colStart[seed];
      int c0 = cs >>> 4;
      int d = (cs & 15) * 4;
      col[q] = c0;
      col[q + 1] = c0 + delta[d + 1];
      col[q + 2] = c0 + delta[d + 2];
      col[q + 3] = c0 + delta[d + 3];
    }
  }

  /** Pass 1b (version 2): {@code th *= 2^o} per block, exact (see the class comment). */
  private void applyOffsets(long block0, int nb, int[] offsets, int groupBlocks, float[] th) {
    for (int b = 0, q = 0; b < nb; b++) {
      float sc = POW2_OFFSET[offsets[(int) ((block0 + b) / groupBlocks)] - SeedLmCodec.MIN_OFFSET];
      for (int j = 0; j < p; j++, q++) {
        th[q] *= sc;
      }
    }
  }

  /** Pass 2, any C and P: the canonical rule {@link SeedLmCodec#decodeRule} on the column table. */
  private void combineScalar(int nb, int[] col, float[] th, float[] out, int o) {
    for (int b = 0, q = 0; b < nb; b++, q += p, o += c) {
      SeedLmCodec.decodeRule(cols, col, q, 1, th, q, c, p, out, o);
    }
  }

  // Pass 2 with vectors: chunks of L weights at 0, L, 2L, ..., the last one at C - L (it may overlap
  // the one before: the overlapped weights are computed by the same operations, so they are stored
  // twice, equal).

  private void combine8p3(int nb, int[] col, float[] th, float[] out, int o) {
    for (int b = 0, q = 0; b < nb; b++, q += 3, o += c) {
      for (int i0 = 0; ; i0 = Math.min(i0 + 8, lastChunk)) {
        FloatVector acc = FloatVector.fromArray(S8, cols, col[q] + i0).mul(th[q]);
        acc = FloatVector.fromArray(S8, cols, col[q + 1] + i0).fma(FloatVector.broadcast(S8, th[q + 1]), acc);
        acc = FloatVector.fromArray(S8, cols, col[q + 2] + i0).fma(FloatVector.broadcast(S8, th[q + 2]), acc);
        acc.intoArray(out, o + i0);
        if (i0 == lastChunk) {
          break;
        }
      }
    }
  }

  private void combine8p4(int nb, int[] col, float[] th, float[] out, int o) {
    for (int b = 0, q = 0; b < nb; b++, q += 4, o += c) {
      for (int i0 = 0; ; i0 = Math.min(i0 + 8, lastChunk)) {
        FloatVector acc = FloatVector.fromArray(S8, cols, col[q] + i0).mul(th[q]);
        acc = FloatVector.fromArray(S8, cols, col[q + 1] + i0).fma(FloatVector.broadcast(S8, th[q + 1]), acc);
        acc = FloatVector.fromArray(S8, cols, col[q + 2] + i0).fma(FloatVector.broadcast(S8, th[q + 2]), acc);
        acc = FloatVector.fromArray(S8, cols, col[q + 3] + i0).fma(FloatVector.broadcast(S8, th[q + 3]), acc);
        acc.intoArray(out, o + i0);
        if (i0 == lastChunk) {
          break;
        }
      }
    }
  }

  private void combine4p3(int nb, int[] col, float[] th, float[] out, int o) {
    for (int b = 0, q = 0; b < nb; b++, q += 3, o += c) {
      for (int i0 = 0; ; i0 = Math.min(i0 + 4, lastChunk)) {
        FloatVector acc = FloatVector.fromArray(S4, cols, col[q] + i0).mul(th[q]);
        acc = FloatVector.fromArray(S4, cols, col[q + 1] + i0).fma(FloatVector.broadcast(S4, th[q + 1]), acc);
        acc = FloatVector.fromArray(S4, cols, col[q + 2] + i0).fma(FloatVector.broadcast(S4, th[q + 2]), acc);
        acc.intoArray(out, o + i0);
        if (i0 == lastChunk) {
          break;
        }
      }
    }
  }

  private void combine4p4(int nb, int[] col, float[] th, float[] out, int o) {
    for (int b = 0, q = 0; b < nb; b++, q += 4, o += c) {
      for (int i0 = 0; ; i0 = Math.min(i0 + 4, lastChunk)) {
        FloatVector acc = FloatVector.fromArray(S4, cols, col[q] + i0).mul(th[q]);
        acc = FloatVector.fromArray(S4, cols, col[q + 1] + i0).fma(FloatVector.broadcast(S4, th[q + 1]), acc);
        acc = FloatVector.fromArray(S4, cols, col[q + 2] + i0).fma(FloatVector.broadcast(S4, th[q + 2]), acc);
        acc = FloatVector.fromArray(S4, cols, col[q + 3] + i0).fma(FloatVector.broadcast(S4, th[q + 3]), acc);
        acc.intoArray(out, o + i0);
        if (i0 == lastChunk) {
          break;
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Fused dot product (matrix-vector)

  /**
   * Whether {@link #dotRows} can compute rows of {@code in} weights: the 4-bit layout (C = 8, P = 3, K = 16: one
   * block is one 32-bit big-endian word), 8-lane vectors allowed, MatMul's L = 8 or 16 lanes, and {@code in} a
   * multiple of 128 ({@value #DOT_BLOCKS} blocks: every row is whole steps of the kernel and whole vectors of
   * MatMul, so it has no scalar tail; every Llama projection of hidden and intermediate sizes that are multiples
   * of 128).
   */
  public boolean canDot(int in) {
    int l = MatMul.species().length();
    return species == S8 && c == 8 && p == 3 && k == 16 && bits == 32 && (l == 8 || l == 16) && in > 0
        && in % (8 * DOT_BLOCKS) == 0;
  }

  /**
   * {@code offset[i] = o}, the exponent offset of block {@code firstBlock + i} for {@code i < n} (0 for version
   * 1: no offsets or {@code groupBlocks == 0}), as {@link #dotRows} takes them.
   */
  public void blockOffsets(long firstBlock, int n, int[] offsets, int groupBlocks, int[] offset) {
    checkOffsets(offsets, groupBlocks, firstBlock + n);
    if (groupBlocks == 0 || offsets.length == 0) {
      java.util.Arrays.fill(offset, 0, n, 0);
      return;
    }
    int g = (int) (firstBlock / groupBlocks);
    long left = groupBlocks - firstBlock % groupBlocks;
    for (int i = 0; i < n; i++, left--) {
      if (left == 0) {
        g++;
        left = groupBlocks;
      }
      offset[i] = offsets[g];
    }
  }

  /** Rows of whole multiples of this many blocks go through {@link #dotRows} (8-lane integer vectors, L = 16). */
  static final int DOT_BLOCKS = 16;

  /**
   * Blocks per row per step of {@link #dotRows} (at most): pass 1 unpacks them into {@link DotScratch}, pass 2
   * multiplies. 64, so that each pass's fixed cost per call (C2's range checks on the arrays) is spread thin.
   */
  static final int STEP = 64;

  /** Rows of W per call of {@link #dotRows}. */
  public static final int DOT_ROWS = 4;

  /** Work arrays of {@link #dotRows} (about 6 KB, in L1), reused across the calls of one thread. */
  public static final class DotScratch {
    final int[] col = new int[DOT_ROWS * 3 * STEP]; // (rows, 3, STEP) where column j of U(s) starts in cols
    final float[] th = new float[DOT_ROWS * 3 * STEP]; // (rows, 3, STEP) th_j of each block: q_j 2^(e + o)
    final float[] acc = new float[DOT_ROWS * 16]; // (rows, L) the rows' accumulators between steps
  }

  /**
   * Elements {@code yOff .. yOff + rows - 1} of {@code W x} straight from the packed bits of {@code rows} (1 to
   * {@value #DOT_ROWS}) consecutive rows of W, never writing the weights: row r holds blocks {@code firstBlock + r
   * nBlocks ..} ({@code nBlocks * 8} weights), block i of row r has exponent offset {@code offset[r nBlocks + i]}
   * (from {@link #blockOffsets}), and x starts at {@code x[xOff]}. Requires {@link #canDot}{@code (nBlocks * 8)}.
   *
   * <p>This is where generation from a packed model spends its time. The rows go together, up to {@value #STEP}
   * blocks of each at a time, in two passes. Pass 1 ({@link #pass1}, {@link #unpackDot}) unpacks a row's blocks with integer
   * vectors, one lane per block (the 32-bit words read little-endian, so the big-endian fields sit at fixed bit
   * positions): where the three columns of U(s) start in {@code cols} ({@link #columnStarts}), and {@code th_j =
   * (float) q_j * 2^(e + o)}, the power of two built from its exponent bits ({@code e + o} is in [-108, 107], a
   * normal float), which is exactly the decoder's {@code (q_j 2^e) 2^o} (both are exact). Pass 2 ({@link #step})
   * builds each block's 8 weights in a register by the operations of {@link #decode} ({@code U_0 th_0}, then FMAs
   * with {@code th_1}, {@code th_2}), the columns read from {@code cols}, so they are its bits; then they go
   * through {@link MatMul}'s per-element rule: lane-wise FMAs {@code x * w + acc} into an accumulator of MatMul's
   * L lanes (for L = 16, two 8-lane halves: even blocks are lanes 0..7 of a chunk, odd blocks lanes 8..15), then
   * {@code reduceLanes(ADD)} of the L lanes in MatMul's species (JDK 17 adds them one by one in order, JDK 25 does
   * not: either way MatMul's order), plus MatMul's empty scalar tail {@code 0f}. So each result is bit for bit
   * {@link MatMul#linear} of one input row by the decoded row. Each row's sum is its own chain of FMAs; with four
   * independent chains the core overlaps them (one row alone waits on its accumulator), and each chunk of x is
   * loaded once for the four rows. Fewer than four rows (the last rows of a matrix whose height is not a multiple
   * of four) repeat the last one, whose extra results are dropped.
   *
   * <p>JDK 17's C2 gives up the Vector API intrinsics (and then allocates a vector on every operation) where a
   * vector crosses a call it does not inline, or where one compilation inlines so much that it reaches its node
   * limit. So the two passes are separate methods that take and return only arrays, each small enough to compile
   * whole; the accumulators cross from one step to the next in {@code scratch.acc} (stored and loaded: the bits do
   * not change).
   *
   * @throws IllegalArgumentException on a seed 0 (naming the block)
   */
  public void dotRows(byte[] packed, long firstBlock, int nBlocks, int rows, int[] offset, float[] x, int xOff,
      DotScratch scratch, float[] y, int yOff) {
    if (rows < 1 || rows > DOT_ROWS) {
      throw new IllegalArgumentException("dotRows takes 1 to " + DOT_ROWS + " rows, not " + rows);
    }
    int[] col = scratch.col;
    float[] th = scratch.th;
    float[] acc = scratch.acc;
    java.util.Arrays.fill(acc, 0f);
    for (int b = 0; b < nBlocks; b += STEP) {
      int n = Math.min(STEP, nBlocks - b); // a multiple of DOT_BLOCKS
      pass1(packed, firstBlock, nBlocks, rows, b, n, offset, col, th);
      if (HALVES) {
        stepHalves(col, th, cols, n, x, xOff + 8 * b, acc);
      } else {
        step(col, th, cols, n, x, xOff + 8 * b, acc);
      }
    }
    VectorSpecies<Float> l = MatMul.species();
    for (int r = 0; r < rows; r++) {
      y[yOff + r] = FloatVector.fromArray(l, acc, l.length() * r).reduceLanes(VectorOperators.ADD) + 0f;
    }
  }

  /**
   * Pass 1 of {@link #dotRows} for the step of blocks {@code b .. b + n - 1} of each row: {@link #unpackDot} of
   * each of the {@value #DOT_ROWS} rows (the last of {@code rows} repeated), then {@link #columnStarts}.
   */
  void pass1(byte[] packed, long firstBlock, int nBlocks, int rows, int b, int n, int[] offset, int[] col,
      float[] th) {
    int at = Math.toIntExact(firstBlock * 4);
    for (int r = 0; r < DOT_ROWS; r++) {
      int row = Math.min(r, rows - 1);
      unpackDot(packed, at + 4 * (row * nBlocks + b), n, firstBlock + (long) row * nBlocks + b, offset,
          row * nBlocks + b, col, th, r * STEP);
    }
    columnStarts(col, n);
  }

  /**
   * Pass 2 of {@link #dotRows} for MatMul's L = 8: the n blocks of the step of each of the
   * {@value #DOT_ROWS} rows, FMAs into row r's accumulator {@code acc[8 r ..]}. Each block's weights as {@link
   * #combine8p3} computes them: {@code U_0 th_0}, then FMAs with {@code U_1, th_1} and {@code U_2, th_2}, column j of
   * U(s) read at {@code col[t + j STEP]} of {@code cols}. Written out for each row rather than through a helper
   * that returns a vector: C2 inlines a helper of more than 35 bytecodes only at call sites its profile calls hot,
   * and where it does not, the vector is allocated. Vector operations are called as {@code lanewise} rather than
   * {@code FloatVector.mul/fma}: the type profile is then this call site's (8 lanes only), not the one shared with
   * MatMul's 16-lane vectors, with which JDK 17 gives up the intrinsics.
   */
  private static void step(int[] col, float[] th, float[] cols, int n, float[] x, int xo, float[] acc) {
    FloatVector a0 = FloatVector.fromArray(S8, acc, 0);
    FloatVector a1 = FloatVector.fromArray(S8, acc, 8);
    FloatVector a2 = FloatVector.fromArray(S8, acc, 16);
    FloatVector a3 = FloatVector.fromArray(S8, acc, 24);
    for (int i = 0; i < n; i++) {
      FloatVector xv = FloatVector.fromArray(S8, x, xo + 8 * i);
      int t0 = i; // block i of row r: col[3 r STEP + j STEP + i], th likewise
      int t1 = 3 * STEP + i;
      int t2 = 6 * STEP + i;
      int t3 = 9 * STEP + i;
      a0 = xv.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[t0 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t0 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[t0 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t0 + STEP]),
                          FloatVector.fromArray(S8, cols, col[t0]).lanewise(VectorOperators.MUL, th[t0]))),
          a0);
      a1 = xv.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[t1 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t1 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[t1 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t1 + STEP]),
                          FloatVector.fromArray(S8, cols, col[t1]).lanewise(VectorOperators.MUL, th[t1]))),
          a1);
      a2 = xv.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[t2 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t2 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[t2 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t2 + STEP]),
                          FloatVector.fromArray(S8, cols, col[t2]).lanewise(VectorOperators.MUL, th[t2]))),
          a2);
      a3 = xv.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[t3 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t3 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[t3 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t3 + STEP]),
                          FloatVector.fromArray(S8, cols, col[t3]).lanewise(VectorOperators.MUL, th[t3]))),
          a3);
    }
    a0.intoArray(acc, 0);
    a1.intoArray(acc, 8);
    a2.intoArray(acc, 16);
    a3.intoArray(acc, 24);
  }

  /**
   * {@link #step} for MatMul's L = 16: row r's 16 lanes at {@code acc[16 r ..]}, even blocks into lanes 0..7 and
   * odd ones into 8..15.
   */
  private static void stepHalves(int[] col, float[] th, float[] cols, int n, float[] x, int xo, float[] acc) {
    FloatVector e0 = FloatVector.fromArray(S8, acc, 0);
    FloatVector o0 = FloatVector.fromArray(S8, acc, 8);
    FloatVector e1 = FloatVector.fromArray(S8, acc, 16);
    FloatVector o1 = FloatVector.fromArray(S8, acc, 24);
    FloatVector e2 = FloatVector.fromArray(S8, acc, 32);
    FloatVector o2 = FloatVector.fromArray(S8, acc, 40);
    FloatVector e3 = FloatVector.fromArray(S8, acc, 48);
    FloatVector o3 = FloatVector.fromArray(S8, acc, 56);
    for (int i = 0; i < n; i += 2) {
      FloatVector xe = FloatVector.fromArray(S8, x, xo + 8 * i);
      FloatVector xd = FloatVector.fromArray(S8, x, xo + 8 * i + 8);
      int t0 = i; // even block i and odd block i + 1 of each row
      int t1 = 3 * STEP + i;
      int t2 = 6 * STEP + i;
      int t3 = 9 * STEP + i;
      int u0 = t0 + 1;
      int u1 = t1 + 1;
      int u2 = t2 + 1;
      int u3 = t3 + 1;
      e0 = xe.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[t0 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t0 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[t0 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t0 + STEP]),
                          FloatVector.fromArray(S8, cols, col[t0]).lanewise(VectorOperators.MUL, th[t0]))),
          e0);
      o0 = xd.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[u0 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[u0 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[u0 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[u0 + STEP]),
                          FloatVector.fromArray(S8, cols, col[u0]).lanewise(VectorOperators.MUL, th[u0]))),
          o0);
      e1 = xe.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[t1 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t1 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[t1 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t1 + STEP]),
                          FloatVector.fromArray(S8, cols, col[t1]).lanewise(VectorOperators.MUL, th[t1]))),
          e1);
      o1 = xd.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[u1 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[u1 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[u1 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[u1 + STEP]),
                          FloatVector.fromArray(S8, cols, col[u1]).lanewise(VectorOperators.MUL, th[u1]))),
          o1);
      e2 = xe.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[t2 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t2 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[t2 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t2 + STEP]),
                          FloatVector.fromArray(S8, cols, col[t2]).lanewise(VectorOperators.MUL, th[t2]))),
          e2);
      o2 = xd.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[u2 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[u2 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[u2 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[u2 + STEP]),
                          FloatVector.fromArray(S8, cols, col[u2]).lanewise(VectorOperators.MUL, th[u2]))),
          o2);
      e3 = xe.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[t3 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t3 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[t3 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[t3 + STEP]),
                          FloatVector.fromArray(S8, cols, col[t3]).lanewise(VectorOperators.MUL, th[t3]))),
          e3);
      o3 = xd.lanewise(VectorOperators.FMA,
          FloatVector.fromArray(S8, cols, col[u3 + 2 * STEP])
              .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[u3 + 2 * STEP]),
                  FloatVector.fromArray(S8, cols, col[u3 + STEP])
                      .lanewise(VectorOperators.FMA, FloatVector.broadcast(S8, th[u3 + STEP]),
                          FloatVector.fromArray(S8, cols, col[u3]).lanewise(VectorOperators.MUL, th[u3]))),
          o3);
    }
    e0.intoArray(acc, 0);
    o0.intoArray(acc, 8);
    e1.intoArray(acc, 16);
    o1.intoArray(acc, 24);
    e2.intoArray(acc, 32);
    o2.intoArray(acc, 40);
    e3.intoArray(acc, 48);
    o3.intoArray(acc, 56);
  }

  /**
   * Pass 1 of {@link #dotRows}, with {@link #columnStarts}: seeds and coefficients of the n blocks (a multiple of
   * 8) at byte {@code at} (block {@code block0}, offsets from {@code offset[o0]}), in integer vectors of {@code
   * DOT_INTS} lanes, into {@code col[3 base ..]} and {@code th[3 base ..]}.
   */
  private void unpackDot(byte[] packed, int at, int n, long block0, int[] offset, int o0, int[] col, float[] th, int base) {
    int c = 3 * base;
    for (int i = 0; i < n; i += DOT_INTS.length()) {
      // LE word v = b3 b2 b1 b0 of the big-endian block b0 b1 b2 b3: seed = b0 b1, e | q0 = b2, q1 | q2 = b3
      IntVector v;
      if (BYTES_AS_INTS_LE) {
        v = ByteVector.fromArray(DOT_BYTES, packed, at + 4 * i).reinterpretAsInts();
      } else {
        wordsLe(packed, at + 4 * i, col, c + i);
        v = IntVector.fromArray(DOT_INTS, col, c + i);
      }
      IntVector seed = v.and(0xFF).lanewise(VectorOperators.LSHL, 8)
          .or(v.lanewise(VectorOperators.LSHR, 8).and(0xFF));
      if (seed.eq(0).anyTrue()) {
        throw seedZero(block0 + i + seed.eq(0).firstTrue());
      }
      seed.intoArray(col, c + i);
      FloatVector pow2 = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 28)
          .add(IntVector.fromArray(DOT_INTS, offset, o0 + i)).add(127).lanewise(VectorOperators.LSHL, 23)
          .reinterpretAsFloats();
      // q_0, q_1, q_2: the 4-bit two's complement fields at bits 16..19, 28..31 and 24..27, shifted to the top and back
      ((FloatVector) v.lanewise(VectorOperators.LSHL, 12).lanewise(VectorOperators.ASHR, 28)
          .convert(VectorOperators.I2F, 0)).lanewise(VectorOperators.MUL, pow2).intoArray(th, c + i);
      ((FloatVector) v.lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0))
          .lanewise(VectorOperators.MUL, pow2).intoArray(th, c + STEP + i);
      ((FloatVector) v.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.ASHR, 28)
          .convert(VectorOperators.I2F, 0)).lanewise(VectorOperators.MUL, pow2)
          .intoArray(th, c + 2 * STEP + i);
    }
  }

  /**
   * Where the three columns of U(s) of the n seeds of each row of the step ({@code col[3 r STEP + i]}, put there by
   * {@link #unpackDot}) start in {@code cols}: column j at {@code col[3 r STEP + j STEP + i]}. With t = 1 + the
   * seed's position in the cycle ({@code cyclePos}), column j starts at {@code f(t + j)}, {@code f(m) = (m mod 3) L
   * + m / 3} (the rule of colStart and colDelta, L = colLen). Now {@code f(m) = m L mod (3L - 1)} (write m = 3a + d:
   * m L = a (3L - 1) + a + d L, and a + d L < 3L - 1), so {@code f(t + j) = f(t) + j L}, less 3L - 1 where that
   * reaches it; and f(t) = t L - (t / 3)(3L - 1), with t / 3 = {@code (t 43691) >>> 17} exactly for t < 2^16.
   * Integer vectors do that without a branch, and the tables the kernel reads are {@code cyclePos} (128 KiB) and
   * {@code cols} (256 KiB), which fit a 512 KiB L2.
   */
  void columnStarts(int[] col, int n) {
    int m = 3 * colLen - 1;
    for (int c = 0; c < DOT_ROWS * 3 * STEP; c += 3 * STEP) {
      for (int i = c; i < c + n; i++) {
        col[i] = cyclePos[col[i]];
      }
    }
    for (int c = 0; c < DOT_ROWS * 3 * STEP; c += 3 * STEP) {
      for (int i = c; i < c + n; i += DOT_INTS.length()) {
        IntVector t = IntVector.fromArray(DOT_INTS, col, i);
        IntVector c0 = t.mul(colLen).sub(t.mul(43691).lanewise(VectorOperators.LSHR, 17).mul(m));
        c0.intoArray(col, i);
        IntVector c1 = c0.add(colLen - m); // f(t) + L - (3L - 1): negative where f(t) + L < 3L - 1, then 3L - 1 back
        c1.add(c1.lanewise(VectorOperators.ASHR, 31).and(m)).intoArray(col, i + STEP);
        IntVector c2 = c0.add(2 * colLen - m);
        c2.add(c2.lanewise(VectorOperators.ASHR, 31).and(m)).intoArray(col, i + 2 * STEP);
      }
    }
  }

  /**
   * The {@code DOT_INTS} 32-bit words at byte {@code at}, each read little-endian, into {@code tmp[t ..]}: {@link
   * #unpackDot}'s path where a byte vector reinterpreted as ints does not read little-endian ({@link
   * #BYTES_AS_INTS_LE}; {@code IntVector.fromByteArray} is gone after JDK 19).
   */
  private static void wordsLe(byte[] packed, int at, int[] tmp, int t) {
    for (int k = 0; k < DOT_INTS.length(); k++) {
      tmp[t + k] = (int) INT_LE.get(packed, at + 4 * k);
    }
  }

  /**
   * Decodes a whole packed tensor of {@code blocks} blocks and keeps the first {@code numel} values
   * (the padding of the last block is dropped), with the fast decoder.
   */
  public float[] decodeTensor(byte[] packed, long blocks, long numel) {
    return decodeTensor(packed, blocks, numel, NO_OFFSETS, 0);
  }

  /** {@link #decodeTensor(byte[], long, long)} of a version 2 tensor, offsets as in {@link #decodeRef}. */
  public float[] decodeTensor(byte[] packed, long blocks, long numel, int[] offsets, int groupBlocks) {
    if (numel < 0 || blocks != (numel + c - 1) / c) {
      throw new IllegalArgumentException(String.format(
          "Cannot decode tensor: %d blocks of C=%d do not hold %d weights", blocks, c, numel));
    }
    float[] out = new float[Math.toIntExact(numel)];
    if (blocks == 0) {
      return out;
    }
    int full = (int) (numel / c);
    decode(packed, 0, full, offsets, groupBlocks, out, 0);
    if (full < blocks) {
      float[] tail = new float[c];
      decode(packed, full, 1, offsets, groupBlocks, tail, 0);
      System.arraycopy(tail, 0, out, full * c, (int) (numel - (long) full * c));
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------

  private IllegalArgumentException seedZero(long block) {
    return new IllegalArgumentException(String.format(
        "Cannot decode SeedLM block %d (%s): seed 0 is not a valid seed", block, params.name()));
  }

  /**
   * Offsets must cover blocks [0, endBlock); none (version 1) is fine. Their range, [-100, 100], is
   * the reader's to check once ({@code PackedModel}), not every slice's.
   */
  private static void checkOffsets(int[] offsets, int groupBlocks, long endBlock) {
    if (groupBlocks < 0) {
      throw new IllegalArgumentException("Cannot decode with group-blocks " + groupBlocks + ": must be >= 0");
    }
    if (groupBlocks == 0 || offsets.length == 0) {
      return;
    }
    long need = (endBlock + groupBlocks - 1) / groupBlocks;
    if (offsets.length < need) {
      throw new IllegalArgumentException(String.format(
          "Cannot decode blocks up to %d: they need %d exponent offsets (G=%d), got %d", endBlock, need,
          groupBlocks, offsets.length));
    }
  }

  private void check(byte[] packed, long firstBlock, int nBlocks, float[] out, int outOff) {
    if (firstBlock < 0 || nBlocks < 0) {
      throw new IllegalArgumentException(String.format(
          "Cannot decode %d blocks from block %d: both must be >= 0", nBlocks, firstBlock));
    }
    long needBytes = ((firstBlock + nBlocks) * bits + 7) / 8;
    if (needBytes > packed.length) {
      throw new IllegalArgumentException(String.format(
          "Cannot decode blocks %d..%d: they need %d packed bytes, the array has %d", firstBlock,
          firstBlock + nBlocks - 1, needBytes, packed.length));
    }
    if (outOff < 0 || (long) outOff + (long) nBlocks * c > out.length) {
      throw new IllegalArgumentException(String.format(
          "Cannot decode %d blocks of C=%d into out[%d..]: the array has %d floats", nBlocks, c, outOff,
          out.length));
    }
  }

  /** The cycle table {@link #dotRows} reads its U(s) columns from (for tests; not to be written). */
  float[] dotColumns() {
    return cols;
  }

  @Override
  public String toString() {
    return "SeedLmDecoder(" + params + ", " + (species == null ? "scalar" : lanes() + " lanes") + ")";
  }
}
