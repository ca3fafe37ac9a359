package org.seedlm.pipeline.eval;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code y = x · Wᵀ + b} for row-major {@code x [rows, in]} and {@code W [out, in]} (the PyTorch layout),
 * with the Vector API: 2×4 (or 4×4) register tiles of FMA dot products, split over output rows across the
 * fork/join pool. Every output element follows one rule, whatever tile or thread computes it: lane-wise
 * FMAs over the first {@code in - in % L} inputs in ascending chunks of L, {@code reduceLanes(ADD)}, plus the
 * scalar sum (from 0, ascending) of the remaining inputs, plus the bias. So results are deterministic
 * whatever the thread count, and a kernel that feeds the same weights through {@link #rows} (a fused
 * decoder) gets the same bits as decoding the whole matrix first. Called from inside a fork/join pool,
 * the work runs in that pool (a benchmark picks its thread count so); otherwise in one of all cores.
 */
public final class MatMul {
  /**
   * The vector species of the rule: the platform's preferred one, or {@code -Dseedlm.matmul.vectorBits=128|256|512}
   * (a diagnostic switch: wider than the hardware runs correctly but slowly, which lets a machine without AVX-512
   * run the 16-lane paths of the kernels that follow this rule).
   */
  private static final VectorSpecies<Float> S = species(Integer.getInteger("seedlm.matmul.vectorBits", 0));
  private static final int L = S.length();
  private static final int CHUNK = 32; // output rows per task
  /** All cores (the common pool leaves one out, which on a 2-core machine means no parallelism). */
  private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1,
      Integer.getInteger("seedlm.eval.threads", Runtime.getRuntime().availableProcessors())),
      ForkJoinPool.defaultForkJoinWorkerThreadFactory, null, false);
  static boolean tile2 = !Boolean.getBoolean("seedlm.eval.tile4");

  private MatMul() {}

  private static VectorSpecies<Float> species(int bits) {
    if (bits == 0) {
      return FloatVector.SPECIES_PREFERRED;
    }
    if (bits != 128 && bits != 256 && bits != 512) {
      throw new IllegalArgumentException("-Dseedlm.matmul.vectorBits must be 128, 256 or 512, not " + bits);
    }
    return FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(bits));
  }

  /** The vector species of the per-element rule (its L lanes), for kernels that must follow the rule exactly. */
  public static VectorSpecies<Float> species() {
    return S;
  }

  public static float[] linear(float[] x, int rows, int in, float[] w, int out, float[] bias) {
    float[] y = new float[rows * out];
    linear(x, rows, in, w, out, bias, y);
    return y;
  }

  public static void linear(float[] x, int rows, int in, float[] w, int out, float[] bias, float[] y) {
    if (x.length < rows * in || w.length < (long) out * in || y.length < rows * out) {
      throw new IllegalArgumentException("matmul shapes");
    }
    long work = (long) rows * in * out;
    if (work < (1 << 18) || pool().getParallelism() <= 1) {
      range(x, rows, in, w, 0, bias, y, out, 0, out);
    } else {
      invoke(new Task(x, rows, in, w, bias, y, out, 0, out));
    }
  }

  /**
   * Output columns {@code [lo, hi)} of {@code y = x · Wᵀ + b} for all rows, with only those rows of W given:
   * row {@code o} of W at {@code wRows[wOff + (o - lo) * in ..]}. Same bits as {@link #linear} on the whole W.
   */
  public static void rows(float[] x, int rows, int in, float[] wRows, int wOff, int lo, int hi, float[] bias,
      float[] y, int out) {
    range(x, rows, in, wRows, wOff - lo * in, bias, y, out, lo, hi);
  }

  /** The pool the calling thread's work runs in: its own when it is a fork/join worker, else all cores. */
  public static ForkJoinPool pool() {
    ForkJoinPool p = ForkJoinTask.getPool();
    return p != null ? p : POOL;
  }

  /** Runs {@code task} in {@link #pool()}. */
  public static void invoke(ForkJoinTask<?> task) {
    if (ForkJoinTask.inForkJoinPool()) {
      task.invoke();
    } else {
      POOL.invoke(task);
    }
  }

  private static final class Task extends RecursiveAction {
    final float[] x;
    final float[] w;
    final float[] bias;
    final float[] y;
    final int rows;
    final int in;
    final int out;
    final int lo;
    final int hi;

    Task(float[] x, int rows, int in, float[] w, float[] bias, float[] y, int out, int lo, int hi) {
      this.x = x;
      this.rows = rows;
      this.in = in;
      this.w = w;
      this.bias = bias;
      this.y = y;
      this.out = out;
      this.lo = lo;
      this.hi = hi;
    }

    @Override
    protected void compute() {
      if (hi - lo <= CHUNK) {
        range(x, rows, in, w, 0, bias, y, out, lo, hi);
      } else {
        int mid = (lo + (hi - lo) / 2) & ~3;
        if (mid <= lo) {
          mid = lo + 4;
        }
        invokeAll(new Task(x, rows, in, w, bias, y, out, lo, mid), new Task(x, rows, in, w, bias, y, out, mid, hi));
      }
    }
  }

  /** Output columns [lo, hi) for all rows; row o of W starts at {@code w[wBase + o * in]}. */
  static void range(float[] x, int rows, int in, float[] w, int wBase, float[] bias, float[] y, int out, int lo,
      int hi) {
    int vecEnd = in - in % L;
    int o = lo;
    for (; o + 4 <= hi; o += 4) {
      int r = 0;
      if (tile2) {
        for (; r + 2 <= rows; r += 2) {
          tile2x4(x, r, in, w, wBase + o * in, o, vecEnd, y, out);
        }
      } else {
        for (; r + 4 <= rows; r += 4) {
          tile4x4(x, r, in, w, wBase + o * in, o, vecEnd, y, out);
        }
      }
      for (; r < rows; r++) {
        for (int k = 0; k < 4; k++) {
          y[r * out + o + k] = dot(x, r * in, w, wBase + (o + k) * in, in, vecEnd);
        }
      }
    }
    for (; o < hi; o++) {
      for (int r = 0; r < rows; r++) {
        y[r * out + o] = dot(x, r * in, w, wBase + o * in, in, vecEnd);
      }
    }
    addBias(bias, y, rows, out, lo, hi);
  }

  private static void addBias(float[] bias, float[] y, int rows, int out, int lo, int hi) {
    if (bias != null) {
      for (int r = 0; r < rows; r++) {
        int base = r * out;
        for (int c = lo; c < hi; c++) {
          y[base + c] += bias[c];
        }
      }
    }
  }

  /** One output element, by the class's rule: lane-wise FMAs, reduceLanes, plus the scalar tail summed from 0. */
  private static float dot(float[] a, int ao, float[] b, int bo, int n, int vecEnd) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i < vecEnd; i += L) {
      acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
    }
    float s = acc.reduceLanes(VectorOperators.ADD);
    float t = 0f;
    for (; i < n; i++) {
      t += a[ao + i] * b[bo + i];
    }
    return s + t;
  }

  private static void tile4x4(float[] x, int r, int in, float[] w, int w0, int o, int vecEnd, float[] y,
      int out) {
    int x0 = r * in;
    int x1 = x0 + in;
    int x2 = x1 + in;
    int x3 = x2 + in;
    int w1 = w0 + in;
    int w2 = w1 + in;
    int w3 = w2 + in;
    FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    int i = 0;
    for (; i < vecEnd; i += L) {
      FloatVector b0 = FloatVector.fromArray(S, w, w0 + i);
      FloatVector b1 = FloatVector.fromArray(S, w, w1 + i);
      FloatVector b2 = FloatVector.fromArray(S, w, w2 + i);
      FloatVector b3 = FloatVector.fromArray(S, w, w3 + i);
      FloatVector v = FloatVector.fromArray(S, x, x0 + i);
      a00 = v.fma(b0, a00);
      a01 = v.fma(b1, a01);
      a02 = v.fma(b2, a02);
      a03 = v.fma(b3, a03);
      v = FloatVector.fromArray(S, x, x1 + i);
      a10 = v.fma(b0, a10);
      a11 = v.fma(b1, a11);
      a12 = v.fma(b2, a12);
      a13 = v.fma(b3, a13);
      v = FloatVector.fromArray(S, x, x2 + i);
      a20 = v.fma(b0, a20);
      a21 = v.fma(b1, a21);
      a22 = v.fma(b2, a22);
      a23 = v.fma(b3, a23);
      v = FloatVector.fromArray(S, x, x3 + i);
      a30 = v.fma(b0, a30);
      a31 = v.fma(b1, a31);
      a32 = v.fma(b2, a32);
      a33 = v.fma(b3, a33);
    }
    put(y, (r) * out + o, a00, a01, a02, a03);
    put(y, (r + 1) * out + o, a10, a11, a12, a13);
    put(y, (r + 2) * out + o, a20, a21, a22, a23);
    put(y, (r + 3) * out + o, a30, a31, a32, a33);
    if (i < in) {
      for (int rr = 0; rr < 4; rr++) {
        tail(x, x0 + rr * in, w, w0, in, i, y, (r + rr) * out + o);
      }
    }
  }

  private static void put(float[] y, int at, FloatVector c0, FloatVector c1, FloatVector c2, FloatVector c3) {
    y[at] = c0.reduceLanes(VectorOperators.ADD);
    y[at + 1] = c1.reduceLanes(VectorOperators.ADD);
    y[at + 2] = c2.reduceLanes(VectorOperators.ADD);
    y[at + 3] = c3.reduceLanes(VectorOperators.ADD);
  }

  /** Adds the scalar remainder [from, in) for one x row and 4 consecutive w rows. */
  private static void tail(float[] x, int xo, float[] w, int w0, int in, int from, float[] y, int at) {
    for (int c = 0; c < 4; c++) {
      float s = 0f;
      for (int k = from; k < in; k++) {
        s += x[xo + k] * w[w0 + c * in + k];
      }
      y[at + c] += s;
    }
  }

  private static void tile2x4(float[] x, int r, int in, float[] w, int w0, int o, int vecEnd, float[] y,
      int out) {
    int x0 = r * in;
    int x1 = x0 + in;
    int w1 = w0 + in;
    int w2 = w1 + in;
    int w3 = w2 + in;
    FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    int i = 0;
    for (; i < vecEnd; i += L) {
      FloatVector b0 = FloatVector.fromArray(S, w, w0 + i);
      FloatVector b1 = FloatVector.fromArray(S, w, w1 + i);
      FloatVector b2 = FloatVector.fromArray(S, w, w2 + i);
      FloatVector b3 = FloatVector.fromArray(S, w, w3 + i);
      FloatVector v = FloatVector.fromArray(S, x, x0 + i);
      a00 = v.fma(b0, a00);
      a01 = v.fma(b1, a01);
      a02 = v.fma(b2, a02);
      a03 = v.fma(b3, a03);
      v = FloatVector.fromArray(S, x, x1 + i);
      a10 = v.fma(b0, a10);
      a11 = v.fma(b1, a11);
      a12 = v.fma(b2, a12);
      a13 = v.fma(b3, a13);
    }
    put(y, r * out + o, a00, a01, a02, a03);
    put(y, (r + 1) * out + o, a10, a11, a12, a13);
    if (i < in) {
      tail(x, x0, w, w0, in, i, y, r * out + o);
      tail(x, x1, w, w0, in, i, y, (r + 1) * out + o);
    }
  }
}
