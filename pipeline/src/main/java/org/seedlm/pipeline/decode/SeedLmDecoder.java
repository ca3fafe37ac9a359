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
  /** Whether MatMul's L is 16 (a constant, so that dot compiles one of its two loops). */
  private static final boolean HALVES = MatMul.species().length() == 16;
  /**
   * Integer lanes of {@link #dot}'s unpacking: 8, so that its float vectors are of the class of the weights' (a
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
  private final float[] wide; // ((2P - 1) * colLen,) the cycle table of dot, see Tables
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
    this.wide = t.wide;
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
   * table): about 1 float and 1 int per seed instead of C*P floats (512 KiB for K = 16). {@code wide} (for
   * {@link #dot}) repeats decimations 0 .. P-2 shifted by one after the P of {@code cols}: since {@code t + j =
   * (n + 1) P + (r + j - P)} when {@code r + j >= P}, column j then starts at {@code col0 + j * colLen} for
   * every seed, with no {@code colDelta} read ({@code (2P - 1) / P} times the floats of {@code cols}).
   */
  private record Tables(int[] colStart, int[] colDelta, float[] cols, float[] wide, int colLen) {
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
      // wide: the P decimations, then decimations 0 .. P-2 again, each shifted by one (wide[(P + r) * colLen + n]
      // = ucycle[r + (n + 1) * P]), so that column j of U(s) starts at col0 + j * colLen for every seed
      float[] wide = new float[(2 * p - 1) * colLen];
      System.arraycopy(cols, 0, wide, 0, p * colLen);
      for (int r = 0; r < p - 1; r++) {
        System.arraycopy(cols, r * colLen + 1, wide, (p + r) * colLen, colLen - 1);
      }
      return new Tables(colStart, colDelta, cols, wide, colLen);
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
   * Whether {@link #dot} can compute rows of {@code in} weights: the 4-bit layout (C = 8, P = 3, K = 16: one
   * block is one 32-bit big-endian word), 8-lane vectors allowed, MatMul's L = 8 or 16 lanes, and {@code in} a
   * multiple of 128 ({@value #DOT_BLOCKS} blocks: every row is whole steps of dot and whole vectors of MatMul, so
   * it has no scalar tail; every Llama projection of hidden and intermediate sizes that are multiples of 128).
   */
  public boolean canDot(int in) {
    int l = MatMul.species().length();
    return species == S8 && c == 8 && p == 3 && k == 16 && bits == 32 && (l == 8 || l == 16) && in > 0
        && in % (8 * DOT_BLOCKS) == 0;
  }

  /**
   * {@code offset[i] = o}, the exponent offset of block {@code firstBlock + i} for {@code i < n} (0 for version
   * 1: no offsets or {@code groupBlocks == 0}), as {@link #dot} takes them.
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

  /** Blocks per step of {@link #dot}: pass 1 unpacks them into {@link DotScratch}, pass 2 multiplies. */
  static final int DOT_BLOCKS = 16;

  /** Work arrays of {@link #dot} (a few hundred bytes, in L1), reused across the calls of one thread. */
  public static final class DotScratch {
    final int[] col = new int[DOT_BLOCKS]; // (DOT_BLOCKS,) where column 0 of each block's U(s) starts in wide
    final int[] th = new int[3 * DOT_BLOCKS]; // (3, DOT_BLOCKS) float bits of th_j of each block: q_j 2^(e + o)
    final float[] lanes = new float[16]; // the 16 lanes of MatMul's accumulator, for its reduction
  }

  /**
   * One element of {@code W x} straight from the packed bits of one row of W, never writing the weights: blocks
   * {@code firstBlock .. firstBlock + nBlocks - 1} hold the row's {@code nBlocks * 8} weights, {@code offset[i]}
   * (from {@link #blockOffsets}) is block i's exponent offset o, and x starts at {@code x[xOff]}. Requires {@link
   * #canDot}{@code (nBlocks * 8)}.
   *
   * <p>This is where generation from a packed model spends its time. Blocks go {@value #DOT_BLOCKS} at a time, in
   * two passes. Pass 1 ({@link #unpackDot}) unpacks them with integer vectors, one lane per block (the 32-bit
   * words read little-endian, so the big-endian fields sit at fixed bit positions): where U(s) starts, and {@code
   * th_j = (float) q_j * 2^(e + o)}, the power of two built from its exponent bits ({@code e + o} is in [-108,
   * 107], a normal float), which is exactly the decoder's {@code (q_j 2^e) 2^o} (both are exact). Pass 2 builds
   * each block's 8 weights in a register by the operations of {@link #decode} ({@code U_0 th_0}, then FMAs with
   * {@code th_1}, {@code th_2}), the columns of U(s) read from the wide table at {@code c0}, {@code c0 + colLen}
   * and {@code c0 + 2 colLen} (see {@link Tables}), so they are its bits; then they go through {@link MatMul}'s
   * per-element rule: lane-wise FMAs {@code x * w + acc} into an accumulator of MatMul's L lanes (for L = 16, two
   * 8-lane halves: even blocks are lanes 0..7 of a chunk, odd blocks lanes 8..15), {@code reduceLanes(ADD)} of
   * the L lanes (for L = 16 the two halves put back together in MatMul's species, so the reduction is MatMul's on
   * any JDK: JDK 17 adds lanes one by one in order, JDK 25 does not), plus MatMul's empty scalar tail {@code 0f}. So the result is bit for bit {@link
   * MatMul#linear} of one input row by the decoded row. One loop over the row, pass 1 (inlined) every {@value
   * #DOT_BLOCKS} blocks, and no float vector stored to an array: JDK 17 boxes a vector carried around a nested
   * loop or across a call on every iteration, and gives up the intrinsics at call sites whose type profile also
   * saw MatMul's 16-lane vectors.
   *
   * @throws IllegalArgumentException on a seed 0 (naming the block)
   */
  public float dot(byte[] packed, long firstBlock, int nBlocks, int[] offset, float[] x, int xOff,
      DotScratch scratch) {
    int at = Math.toIntExact(firstBlock * 4);
    int[] col = scratch.col;
    int[] th = scratch.th;
    if (!HALVES) {
      FloatVector acc = FloatVector.zero(S8);
      for (int b = 0, xo = xOff; b < nBlocks; b++, xo += 8) {
        int i = b & (DOT_BLOCKS - 1);
        if (i == 0) {
          unpackDot(packed, at + 4 * b, firstBlock + b, offset, b, col, th);
        }
        FloatVector w = dotWeights(col, th, wide, colLen, i);
        acc = FloatVector.fromArray(S8, x, xo).lanewise(VectorOperators.FMA, w, acc);
      }
      return acc.reduceLanes(VectorOperators.ADD) + 0f;
    }
    FloatVector even = FloatVector.zero(S8); // MatMul's L = 16: even blocks are lanes 0..7, odd ones 8..15
    FloatVector odd = even;
    for (int b = 0, xo = xOff; b < nBlocks; b += 2, xo += 16) {
      int i = b & (DOT_BLOCKS - 1);
      if (i == 0) {
        unpackDot(packed, at + 4 * b, firstBlock + b, offset, b, col, th);
      }
      FloatVector w0 = dotWeights(col, th, wide, colLen, i);
      FloatVector w1 = dotWeights(col, th, wide, colLen, i + 1);
      even = FloatVector.fromArray(S8, x, xo).lanewise(VectorOperators.FMA, w0, even);
      odd = FloatVector.fromArray(S8, x, xo + 8).lanewise(VectorOperators.FMA, w1, odd);
    }
    // MatMul's reduceLanes(ADD) of its 16 lanes, on the same 16 lanes: its order is the JDK's (JDK 17 adds them one
    // by one in lane order, later ones do not), so the halves are put together and reduced as MatMul reduces
    even.intoArray(scratch.lanes, 0);
    odd.intoArray(scratch.lanes, 8);
    return FloatVector.fromArray(MatMul.species(), scratch.lanes, 0).reduceLanes(VectorOperators.ADD) + 0f;
  }

  /**
   * Pass 2 of {@link #dot}: the 8 weights of block i of the step, as {@link #combine8p3} computes them (column j
   * of U(s) at {@code col[i] + j colLen} of the wide table). Vector operations are called here as {@code lanewise}
   * rather than through {@code FloatVector.mul/fma}: the type profile is then this call site's (8 lanes only),
   * not the one shared with MatMul's 16-lane vectors, with which JDK 17 gives up the intrinsics.
   */
  private static FloatVector dotWeights(int[] col, int[] th, float[] wide, int colLen, int i) {
    int c0 = col[i];
    FloatVector w = FloatVector.fromArray(S8, wide, c0)
        .lanewise(VectorOperators.MUL, Float.intBitsToFloat(th[i]));
    w = FloatVector.fromArray(S8, wide, c0 + colLen).lanewise(VectorOperators.FMA,
        FloatVector.broadcast(S8, Float.intBitsToFloat(th[DOT_BLOCKS + i])), w);
    return FloatVector.fromArray(S8, wide, c0 + 2 * colLen).lanewise(VectorOperators.FMA,
        FloatVector.broadcast(S8, Float.intBitsToFloat(th[2 * DOT_BLOCKS + i])), w);
  }

  /**
   * Pass 1 of {@link #dot}: column starts and coefficients (float bits) of the {@value #DOT_BLOCKS} blocks at byte
   * {@code at} (block {@code block0}, offsets from {@code offset[o0]}), in integer vectors of {@code DOT_INTS}
   * lanes.
   */
  void unpackDot(byte[] packed, int at, long block0, int[] offset, int o0, int[] col, int[] th) {
    for (int i = 0; i < DOT_BLOCKS; i += DOT_INTS.length()) {
      // LE word v = b3 b2 b1 b0 of the big-endian block b0 b1 b2 b3: seed = b0 b1, e | q0 = b2, q1 | q2 = b3
      IntVector v = wordsLe(packed, at + 4 * i, col, i);
      IntVector seed = v.and(0xFF).lanewise(VectorOperators.LSHL, 8).or(v.lanewise(VectorOperators.LSHR, 8).and(0xFF));
      if (seed.eq(0).anyTrue()) {
        throw seedZero(block0 + i + seed.eq(0).firstTrue());
      }
      seed.intoArray(col, i);
      FloatVector pow2 = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 28)
          .add(IntVector.fromArray(DOT_INTS, offset, o0 + i)).add(127).lanewise(VectorOperators.LSHL, 23)
          .reinterpretAsFloats();
      signedNibble(v, 12).lanewise(VectorOperators.MUL, pow2).reinterpretAsInts().intoArray(th, i);
      signedNibble(v, 0).lanewise(VectorOperators.MUL, pow2).reinterpretAsInts().intoArray(th, DOT_BLOCKS + i);
      signedNibble(v, 4).lanewise(VectorOperators.MUL, pow2).reinterpretAsInts().intoArray(th, 2 * DOT_BLOCKS + i);
    }
    for (int i = 0; i < DOT_BLOCKS; i++) {
      col[i] = colStart[col[i]] >>> 4;
    }
  }

  /**
   * The {@code DOT_INTS} 32-bit words at byte {@code at}, each read little-endian. {@code IntVector.fromByteArray}
   * is gone after JDK 19, so they are a byte vector reinterpreted as ints where that is little-endian (checked once,
   * {@link #BYTES_AS_INTS_LE}), else read one by one into {@code tmp} from {@code t}.
   */
  private static IntVector wordsLe(byte[] packed, int at, int[] tmp, int t) {
    if (BYTES_AS_INTS_LE) {
      return ByteVector.fromArray(DOT_BYTES, packed, at).reinterpretAsInts();
    }
    for (int k = 0; k < DOT_INTS.length(); k++) {
      tmp[t + k] = (int) INT_LE.get(packed, at + 4 * k);
    }
    return IntVector.fromArray(DOT_INTS, tmp, t);
  }

  /** The 4-bit two's complement field at bits {@code 28 - shl .. 31 - shl} of each lane, as floats. */
  private static FloatVector signedNibble(IntVector v, int shl) {
    IntVector n = shl == 0 ? v : v.lanewise(VectorOperators.LSHL, shl);
    return (FloatVector) n.lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
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

  // Package-private views of the tables, for DotBenchmark's probes (not to be written).

  float[] cycleColumns() {
    return cols;
  }

  float[] wideColumns() {
    return wide;
  }

  int[] columnStarts() {
    return colStart;
  }

  int[] columnDeltas() {
    return colDelta;
  }

  static float coefficient(int eqBits) {
    return Q_TIMES_POW2[eqBits];
  }

  @Override
  public String toString() {
    return "SeedLmDecoder(" + params + ", " + (species == null ? "scalar" : lanes() + " lanes") + ")";
  }
}
