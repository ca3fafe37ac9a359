package org.seedlm.pipeline.codec;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * A range coder with a static (two-pass) frequency model, for the code streams of the entropy-coded
 * codecs. No Maven Central library offers a maintained static-model arithmetic coder for Java, so
 * this is a small one: the carry-propagating coder of LZMA (32-bit range, 64-bit low, bytes out
 * with a cache for carries) driven by a frequency table that sums to {@link #TOTAL}.
 *
 * <h2>Model</h2>
 *
 * {@link Model#fromCounts}: a symbol that occurs gets {@code max(1, floor(count * TOTAL / n))};
 * the remainder (either sign) goes to the most frequent symbol (the lowest such index). The coded
 * size is then {@code n * H} bits plus the table and at most 5 bytes of flush, where H is the
 * entropy of the quantised frequencies (within 0.1 % of the empirical entropy for non-degenerate
 * streams; tested).
 *
 * <h2>Stream</h2>
 *
 * {@link #encode(int[], int)} writes: the {@code alphabet} frequencies as 16-bit little-endian, then
 * the coded bytes. The first byte of an LZMA range-coded stream is always 0 and is not stored.
 */
public final class RangeCoder {
  private RangeCoder() {}

  /** Bits of the frequency total. */
  public static final int TOTAL_BITS = 12;

  /** The frequency total. */
  public static final int TOTAL = 1 << TOTAL_BITS;

  /** Largest alphabet. */
  public static final int MAX_ALPHABET = 64;

  private static final long TOP = 1L << 24;

  /**
   * A static model: symbol {@code s} occupies {@code [cum[s], cum[s] + freq[s])} of {@link #TOTAL}.
   *
   * @param freq (alphabet,) frequencies summing to TOTAL, each in [0, TOTAL]
   */
  public record Model(int[] freq) {
    public Model {
      freq = freq.clone();
      if (freq.length < 1 || freq.length > MAX_ALPHABET) {
        throw new IllegalArgumentException(
            "Cannot build a range-coder model of " + freq.length + " symbols: alphabet must be in [1, "
                + MAX_ALPHABET + "]");
      }
      long sum = 0;
      for (int f : freq) {
        if (f < 0 || f > TOTAL) {
          throw new IllegalArgumentException("Cannot build a range-coder model: frequency " + f + " outside [0, " + TOTAL + "]");
        }
        sum += f;
      }
      if (sum != TOTAL) {
        throw new IllegalArgumentException(
            "Cannot build a range-coder model: frequencies sum to " + sum + ", not " + TOTAL);
      }
    }

    /** The model of a stream's symbol counts (see the class comment). An empty stream gets all of TOTAL on symbol 0. */
    public static Model fromCounts(long[] counts) {
      long n = 0;
      int top = 0;
      for (int s = 0; s < counts.length; s++) {
        n += counts[s];
        if (counts[s] > counts[top]) {
          top = s;
        }
      }
      int[] f = new int[counts.length];
      if (n == 0) {
        f[0] = TOTAL;
        return new Model(f);
      }
      int sum = 0;
      for (int s = 0; s < counts.length; s++) {
        if (counts[s] > 0) {
          f[s] = (int) Math.max(1, counts[s] * TOTAL / n);
        }
        sum += f[s];
      }
      f[top] += TOTAL - sum;
      return new Model(f);
    }

    /** Cumulative frequencies, (alphabet + 1,). */
    int[] cumulative() {
      int[] cum = new int[freq.length + 1];
      for (int s = 0; s < freq.length; s++) {
        cum[s + 1] = cum[s] + freq[s];
      }
      return cum;
    }

    public int alphabet() {
      return freq.length;
    }

    @Override
    public int[] freq() {
      return freq.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Model m && Arrays.equals(freq, m.freq);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(freq);
    }
  }

  /** Symbol counts of a stream over {@code [0, alphabet)}. */
  public static long[] counts(int[] symbols, int alphabet) {
    long[] c = new long[alphabet];
    for (int i = 0; i < symbols.length; i++) {
      int s = symbols[i];
      if (s < 0 || s >= alphabet) {
        throw new IllegalArgumentException(
            "Cannot range-code symbol " + s + " at " + i + ": alphabet is [0, " + alphabet + ")");
      }
      c[s]++;
    }
    return c;
  }

  /** Encodes a stream with its own model: the table (2 bytes per symbol) then the coded bytes. */
  public static byte[] encode(int[] symbols, int alphabet) {
    Model m = Model.fromCounts(counts(symbols, alphabet));
    byte[] coded = encode(symbols, m);
    byte[] out = new byte[2 * alphabet + coded.length];
    for (int s = 0; s < alphabet; s++) {
      out[2 * s] = (byte) m.freq[s];
      out[2 * s + 1] = (byte) (m.freq[s] >>> 8);
    }
    System.arraycopy(coded, 0, out, 2 * alphabet, coded.length);
    return out;
  }

  /** Decodes {@code n} symbols written by {@link #encode(int[], int)} starting at {@code in[off]}. */
  public static int[] decode(byte[] in, int off, int n, int alphabet) {
    if (off < 0 || off + 2L * alphabet > in.length) {
      throw new IllegalArgumentException(
          "Cannot decode a range-coded stream at byte " + off + ": its table needs " + 2 * alphabet
              + " bytes, the buffer has " + in.length);
    }
    int[] f = new int[alphabet];
    for (int s = 0; s < alphabet; s++) {
      f[s] = (in[off + 2 * s] & 0xFF) | (in[off + 2 * s + 1] & 0xFF) << 8;
    }
    return decode(in, off + 2 * alphabet, n, new Model(f));
  }

  /** Range-codes {@code symbols} with model {@code m} (no table). Symbols must have nonzero frequency. */
  public static byte[] encode(int[] symbols, Model m) {
    int[] cum = m.cumulative();
    Encoder e = new Encoder(symbols.length / 4 + 16);
    for (int i = 0; i < symbols.length; i++) {
      int s = symbols[i];
      if (s < 0 || s >= m.freq.length || m.freq[s] == 0) {
        throw new IllegalArgumentException(
            "Cannot range-code symbol " + s + " at " + i + ": it has no frequency in the model");
      }
      e.encode(cum[s], m.freq[s]);
    }
    return e.finish();
  }

  /** The LZMA range encoder: {@code low} carries into the cached byte and the pending 0xFF bytes. */
  private static final class Encoder {
    private final ByteArrayOutputStream out;
    private long low = 0; // 33 significant bits: bit 32 is a carry
    private long range = 0xFFFFFFFFL; // in [2^24, 2^32) between symbols
    private int cache = 0; // the last byte not yet written (a carry may still change it)
    private long cacheSize = 1; // cache plus the 0xFF bytes pending after it
    private boolean first = true; // the first byte is always 0 and is not written

    Encoder(int capacity) {
      out = new ByteArrayOutputStream(capacity);
    }

    void encode(int cum, int freq) {
      long r = range >>> TOTAL_BITS;
      low += r * cum;
      range = r * freq;
      while (range < TOP) {
        range <<= 8;
        shiftLow();
      }
    }

    private void shiftLow() {
      if (low < 0xFF000000L || low > 0xFFFFFFFFL) {
        int carry = (int) (low >>> 32);
        int temp = cache;
        do {
          if (!first) {
            out.write((temp + carry) & 0xFF);
          }
          first = false;
          temp = 0xFF;
        } while (--cacheSize != 0);
        cache = (int) ((low >>> 24) & 0xFF);
      }
      cacheSize++;
      low = (low & 0x00FFFFFFL) << 8;
    }

    byte[] finish() {
      for (int k = 0; k < 5; k++) {
        shiftLow();
      }
      return out.toByteArray();
    }
  }

  /** Decodes {@code n} symbols coded by {@link #encode(int[], Model)} from {@code in[off..]}. */
  public static int[] decode(byte[] in, int off, int n, Model m) {
    int[] cum = m.cumulative();
    int alphabet = m.freq.length;
    int[] out = new int[n];
    int pos = off;
    long code = 0;
    for (int k = 0; k < 4; k++) {
      code = (code << 8) | (pos < in.length ? in[pos] & 0xFF : 0);
      pos++;
    }
    long range = 0xFFFFFFFFL;
    for (int i = 0; i < n; i++) {
      long r = range >>> TOTAL_BITS;
      long v = code / r;
      if (v >= TOTAL) {
        throw new IllegalArgumentException("Cannot decode range-coded symbol " + i + ": corrupt stream");
      }
      int s = 0;
      while (s < alphabet - 1 && cum[s + 1] <= v) {
        s++;
      }
      out[i] = s;
      code -= r * cum[s];
      range = r * m.freq[s];
      while (range < TOP) {
        range <<= 8;
        code = ((code << 8) | (pos < in.length ? in[pos] & 0xFF : 0)) & 0xFFFFFFFFL;
        pos++;
      }
    }
    return out;
  }
}
