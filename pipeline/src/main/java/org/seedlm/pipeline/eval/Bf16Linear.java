package org.seedlm.pipeline.eval;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * W held as bfloat16 (the upper 16 bits of a float32; 2 bytes per weight), widened to float32 exactly, a few
 * rows at a time ({@link CompactLinear}): bit for bit {@code MatMul.linear} on the widened W.
 */
public final class Bf16Linear extends CompactLinear {
  private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_128;
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;

  private final short[] w;

  /** @param w {@code [out, in]} bfloat16 bits */
  public Bf16Linear(short[] w, int out, int in, float[] bias) {
    super(out, in, bias);
    if (w.length != (long) out * in) {
      throw new IllegalArgumentException("bf16 linear: " + w.length + " weights for [" + out + ", " + in + "]");
    }
    this.w = w;
  }

  /** Round-to-nearest-even of a float32 to bfloat16 (NaN stays a quiet NaN), as torch's {@code .to(bfloat16)}. */
  public static short toBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  /** The float32 value of bfloat16 bits (exact). */
  public static float toFloat(short b) {
    return Float.intBitsToFloat(b << 16);
  }

  @Override
  protected int bufferFloats(int rows) {
    return rows * in;
  }

  /** Widens rows [lo, hi): 8 lanes at a time (sign-extend to int, shift left 16: exactly the float's bits). */
  @Override
  protected int rowsToFloats(int lo, int hi, float[] buf) {
    int from = lo * in;
    int n = (hi - lo) * in;
    int i = 0;
    for (int end = n - n % SHORTS.length(); i < end; i += SHORTS.length()) {
      ((IntVector) ShortVector.fromArray(SHORTS, w, from + i).convertShape(VectorOperators.S2I, INTS, 0))
          .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(buf, i);
    }
    for (; i < n; i++) {
      buf[i] = Float.intBitsToFloat(w[from + i] << 16);
    }
    return 0;
  }

  @Override
  protected long weightBytes() {
    return 2L * w.length;
  }
}
