package org.seedlm.pipeline.eval;

import java.util.concurrent.RecursiveAction;

/**
 * A {@link Linear} whose W stays in a compact form in memory (packed codes, bfloat16) and is turned into float
 * rows a few at a time, each batch into a buffer that stays in cache and is multiplied at once by every input
 * row ({@link MatMul#rows}). Output rows go in tasks over MatMul's fork/join pool, a few per thread. Since
 * MatMul's per-element rule does not depend on which rows it is given, the result is bit for bit {@code
 * MatMul.linear} on the float rows the subclass produces, and W is never materialized whole.
 */
public abstract class CompactLinear implements Linear {
  /** Weights turned into floats per batch, at most (16,384 floats: 64 KiB), rounded to whole rows (4 at least). */
  private static final int BATCH_WEIGHTS = 1 << 14;
  /** Tasks per thread of the pool that {@link #apply} cuts the output rows into, at most. */
  private static final int TASKS_PER_THREAD = 8;

  protected final int out;
  protected final int in;
  protected final float[] bias;
  private final int rowsPerBatch;

  protected CompactLinear(int out, int in, float[] bias) {
    if (bias != null && bias.length != out) {
      throw new IllegalArgumentException("linear [" + out + ", " + in + "]: bias of " + bias.length);
    }
    this.out = out;
    this.in = in;
    this.bias = bias;
    this.rowsPerBatch = Math.max(4, BATCH_WEIGHTS / Math.max(1, in) & ~3);
  }

  /** Floats a buffer needs for {@code rows} rows of W in {@link #rowsToFloats}. */
  protected abstract int bufferFloats(int rows);

  /** Rows {@code [lo, hi)} of W as floats into {@code buf}; returns where row {@code lo} starts in it. */
  protected abstract int rowsToFloats(int lo, int hi, float[] buf);

  /**
   * Output columns {@code [lo, hi)} for all rows computed straight from the compact form, bit for bit what
   * {@link #rowsToFloats} then {@link MatMul#rows} gives; returns false, computing nothing, where the subclass
   * has no such kernel for this call (the default).
   */
  protected boolean direct(float[] x, int rows, float[] y, int lo, int hi) {
    return false;
  }

  /** Bytes of W as held. */
  protected abstract long weightBytes();

  @Override
  public final int in() {
    return in;
  }

  @Override
  public final int out() {
    return out;
  }

  @Override
  public final long residentBytes() {
    return weightBytes() + (bias == null ? 0 : 4L * bias.length);
  }

  @Override
  public final void apply(float[] x, int rows, float[] y) {
    if (x.length < rows * in || y.length < rows * out) {
      throw new IllegalArgumentException("linear [" + out + ", " + in + "]: x or y too short for " + rows + " rows");
    }
    int threads = MatMul.pool().getParallelism();
    if (out <= rowsPerBatch || threads <= 1) {
      columns(x, rows, y, 0, out);
    } else {
      MatMul.invoke(new Task(x, rows, y, 0, out, leafRows(threads)));
    }
  }

  /**
   * Rows of W per task: whole batches, about {@value #TASKS_PER_THREAD} tasks per thread, so that work stealing
   * evens the load while each task's fixed cost (its buffer or kernel scratch, the fork and join) stays small
   * against its work. Leaves of one batch each cost a task per 16,384 weights: with generation's one input row
   * that overhead took more time than the second core saved.
   */
  private int leafRows(int threads) {
    long perTask = ((long) out + TASKS_PER_THREAD * threads - 1) / (TASKS_PER_THREAD * threads);
    return (int) Math.max(rowsPerBatch, (perTask + rowsPerBatch - 1) / rowsPerBatch * rowsPerBatch);
  }

  /** Output columns [lo, hi): straight from the compact form, or W's rows lo..hi-1 as floats, batch by batch. */
  private void columns(float[] x, int rows, float[] y, int lo, int hi) {
    if (direct(x, rows, y, lo, hi)) {
      return;
    }
    float[] buf = new float[bufferFloats(Math.min(rowsPerBatch, hi - lo))];
    for (int r0 = lo; r0 < hi; r0 += rowsPerBatch) {
      int r1 = Math.min(hi, r0 + rowsPerBatch);
      int off = rowsToFloats(r0, r1, buf);
      MatMul.rows(x, rows, in, buf, off, r0, r1, bias, y, out);
    }
  }

  private final class Task extends RecursiveAction {
    final float[] x;
    final float[] y;
    final int rows;
    final int lo;
    final int hi;
    final int leaf;

    Task(float[] x, int rows, float[] y, int lo, int hi, int leaf) {
      this.x = x;
      this.rows = rows;
      this.y = y;
      this.lo = lo;
      this.hi = hi;
      this.leaf = leaf;
    }

    @Override
    protected void compute() {
      if (hi - lo <= leaf) {
        columns(x, rows, y, lo, hi);
      } else {
        int mid = Math.max(lo + rowsPerBatch, lo + (hi - lo) / 2 / rowsPerBatch * rowsPerBatch);
        invokeAll(new Task(x, rows, y, lo, mid, leaf), new Task(x, rows, y, mid, hi, leaf));
      }
    }
  }
}
