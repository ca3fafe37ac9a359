package org.seedlm.pipeline.safetensors;

import java.io.Closeable;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.numeric.HalfFloats;

/**
 * One open safetensors file, read through the Hadoop {@link FileSystem} API with positional reads
 * only ({@code file://}, {@code hdfs://} and {@code s3a://} behave the same). Opening reads the 8-byte
 * header length and the header, and validates it ({@link SafetensorsHeader}). Tensor slices are then
 * read on demand: only the bytes of the requested slice are fetched, in chunks of at most
 * {@link #CHUNK_BYTES}.
 *
 * <p>Thread-safe: reads use {@link FSDataInputStream#readFully(long, byte[], int, int)}, which the
 * {@code PositionedReadable} contract requires to be safe for concurrent use, and keep no shared
 * mutable state besides the {@link #bytesRead()} counter.
 */
public final class SafetensorsFile implements Closeable {

  /** Largest single positional read. */
  public static final int CHUNK_BYTES = 1 << 20;

  private final Path path;
  private final String label;
  private final FSDataInputStream in;
  private final SafetensorsHeader header;
  private final byte[] rawHeader;
  private final AtomicLong bytesRead;
  private volatile boolean closed;

  private SafetensorsFile(Path path, FSDataInputStream in, SafetensorsHeader header,
      byte[] rawHeader, AtomicLong bytesRead) {
    this.path = path;
    this.label = path.toString();
    this.in = in;
    this.header = header;
    this.rawHeader = rawHeader;
    this.bytesRead = bytesRead;
  }

  /** Opens and validates a safetensors file. */
  public static SafetensorsFile open(Path path, Configuration conf) throws IOException {
    String label = path.toString();
    FileSystem fs = path.getFileSystem(conf);
    FileStatus status;
    try {
      status = fs.getFileStatus(path);
    } catch (FileNotFoundException e) {
      throw CheckpointException.file(label, "file does not exist (check the path)", e);
    }
    if (status.isDirectory()) {
      throw CheckpointException.file(label, "is a directory, not a safetensors file"
          + " (open it with Checkpoint.open)");
    }
    long length = status.getLen();
    FSDataInputStream in = fs.open(path);
    boolean ok = false;
    try {
      AtomicLong counter = new AtomicLong();
      byte[] first8 = new byte[8];
      int got = (int) Math.min(8, length);
      readFully(in, label, 0, first8, 0, got, length);
      counter.addAndGet(got);
      long n = SafetensorsHeader.headerLength(label, first8, got, length);
      byte[] raw = new byte[(int) (8 + n)];
      System.arraycopy(first8, 0, raw, 0, 8);
      readFully(in, label, 8, raw, 8, (int) n, length);
      counter.addAndGet(n);
      byte[] json = java.util.Arrays.copyOfRange(raw, 8, raw.length);
      SafetensorsHeader header = SafetensorsHeader.parse(label, length, json);
      SafetensorsFile f = new SafetensorsFile(path, in, header, raw, counter);
      ok = true;
      return f;
    } finally {
      if (!ok) {
        in.close();
      }
    }
  }

  private static void readFully(FSDataInputStream in, String label, long pos, byte[] buf, int off,
      int len, long fileLength) throws IOException {
    try {
      in.readFully(pos, buf, off, len);
    } catch (EOFException e) {
      throw CheckpointException.file(label, "unexpected end of file reading " + len
          + " bytes at offset " + pos + " (the file is " + fileLength
          + " bytes by its status; it was truncated or changed while being read)", e);
    }
  }

  /** The path this file was opened from. */
  public Path path() {
    return path;
  }

  /** The validated header. */
  public SafetensorsHeader header() {
    return header;
  }

  /** Tensors in header order (unmodifiable). */
  public Map<String, TensorInfo> tensors() {
    return header.tensors();
  }

  /** The {@code __metadata__} entries (unmodifiable). */
  public Map<String, String> metadata() {
    return header.metadata();
  }

  /** Length of the file in bytes. */
  public long length() {
    return header.fileLength();
  }

  /** The first {@code 8 + N} bytes of the file: the length prefix and the header (a copy). */
  public byte[] rawHeader() {
    return rawHeader.clone();
  }

  /** Bytes fetched from storage so far (header included). */
  public long bytesRead() {
    return bytesRead.get();
  }

  /** Whether the file has a tensor of this name. */
  public boolean contains(String tensor) {
    return header.tensors().containsKey(tensor);
  }

  /** The tensor's header entry. */
  public TensorInfo info(String tensor) throws CheckpointException {
    TensorInfo t = header.tensors().get(tensor);
    if (t == null) {
      throw CheckpointException.tensor(label, tensor, "does not exist in this file ("
          + header.tensors().size() + " tensors; check the tensor name)");
    }
    return t;
  }

  /**
   * Reads {@code count} elements starting at element {@code firstElement} (row-major flat index) of
   * a floating tensor (F32, F16, BF16, F8_E4M3, F8_E5M2 exactly; F64 rounded to nearest float) into
   * {@code dst[dstOff .. dstOff+count)}. Reads only that slice's bytes.
   */
  public void readFloats(String tensor, long firstElement, int count, float[] dst, int dstOff)
      throws IOException {
    readFloats(tensor, firstElement, count, dst, dstOff, null);
  }

  /**
   * Like {@link #readFloats(String, long, int, float[], int)}, and feeds the raw bytes read (the slice's
   * bytes exactly as stored, in order) to {@code digest} when it is not null: the bytes are hashed as
   * they are read, never read twice.
   */
  public void readFloats(String tensor, long firstElement, int count, float[] dst, int dstOff,
      java.security.MessageDigest digest) throws IOException {
    TensorInfo t = info(tensor);
    DType dtype = t.dtype();
    if (!dtype.isFloating()) {
      throw CheckpointException.tensor(label, tensor, "has dtype " + dtype
          + ", which cannot be read as floats (read it with readBytes)");
    }
    checkSlice(t, firstElement, count);
    if (dstOff < 0 || dstOff > dst.length - count) {
      throw new IndexOutOfBoundsException("Cannot read " + label + ": tensor '" + tensor
          + "' slice of " + count + " elements does not fit in the destination array of length "
          + dst.length + " at offset " + dstOff);
    }
    int size = dtype.size();
    long pos = header.dataStart() + t.begin() + firstElement * size;
    int perChunk = CHUNK_BYTES / size;
    byte[] buf = new byte[(int) Math.min((long) count * size, CHUNK_BYTES)];
    int done = 0;
    while (done < count) {
      int n = Math.min(perChunk, count - done);
      int bytes = n * size;
      read(pos, buf, 0, bytes);
      pos += bytes;
      if (digest != null) {
        digest.update(buf, 0, bytes);
      }
      decode(dtype, buf, n, dst, dstOff + done);
      done += n;
    }
  }

  /** Like {@link #readFloats}, then fails if any value read is NaN or infinite. */
  public void readFiniteFloats(String tensor, long firstElement, int count, float[] dst,
      int dstOff) throws IOException {
    readFloats(tensor, firstElement, count, dst, dstOff);
    requireFinite(label, tensor, firstElement, dst, dstOff, count);
  }

  /**
   * Fails with a {@link CheckpointException} naming the file, the tensor and the element index if
   * {@code values[off .. off+count)} (elements {@code firstElement ..} of the tensor) holds a NaN or
   * an infinity.
   */
  public static void requireFinite(String file, String tensor, long firstElement, float[] values,
      int off, int count) throws CheckpointException {
    int i = firstNonFinite(values, off, count);
    if (i >= 0) {
      throw CheckpointException.tensor(file, tensor, "element " + (firstElement + i - off) + " is "
          + values[i] + " (the checkpoint holds non-finite weights; fix or re-export the model)");
    }
  }

  /** Index of the first NaN or infinite value in {@code values[off .. off+count)}, or -1. */
  public static int firstNonFinite(float[] values, int off, int count) {
    for (int i = off; i < off + count; i++) {
      if (!Float.isFinite(values[i])) {
        return i;
      }
    }
    return -1;
  }

  /** Reads {@code length} raw bytes of a tensor starting at byte {@code byteOffset} of its data. */
  public byte[] readBytes(String tensor, long byteOffset, int length) throws IOException {
    TensorInfo t = info(tensor);
    if (length < 0 || byteOffset < 0 || byteOffset > t.byteLength() - length) {
      throw CheckpointException.tensor(label, tensor, "byte range [" + byteOffset + ", "
          + (byteOffset + length) + ") is outside its " + t.byteLength()
          + " bytes (check the offset and length)");
    }
    byte[] out = new byte[length];
    long pos = header.dataStart() + t.begin() + byteOffset;
    for (int done = 0; done < length; ) {
      int n = Math.min(CHUNK_BYTES, length - done);
      read(pos + done, out, done, n);
      done += n;
    }
    return out;
  }

  /** Copies a tensor's raw bytes to {@code out}, byte for byte, in chunks of 8 MiB. */
  public void copyTo(String tensor, java.io.OutputStream out) throws IOException {
    long len = info(tensor).byteLength();
    int chunk = 8 << 20;
    for (long off = 0; off < len; off += chunk) {
      out.write(readBytes(tensor, off, (int) Math.min(chunk, len - off)));
    }
  }

  private void checkSlice(TensorInfo t, long firstElement, int count) throws CheckpointException {
    long numel = t.numel();
    if (firstElement < 0 || count < 0 || firstElement > numel - count) {
      throw CheckpointException.tensor(label, t.name(), "slice of " + count
          + " elements at element " + firstElement + " is outside its " + numel
          + " elements (check the slice bounds)");
    }
  }

  private void read(long pos, byte[] buf, int off, int len) throws IOException {
    if (closed) {
      throw new IOException("Cannot read " + label + ": the file is closed");
    }
    readFully(in, label, pos, buf, off, len, header.fileLength());
    bytesRead.addAndGet(len);
  }

  private static void decode(DType dtype, byte[] b, int n, float[] dst, int off) {
    switch (dtype) {
      case F32:
        for (int i = 0, p = 0; i < n; i++, p += 4) {
          dst[off + i] = Float.intBitsToFloat(le32(b, p));
        }
        break;
      case F16:
        for (int i = 0, p = 0; i < n; i++, p += 2) {
          dst[off + i] = HalfFloats.f16ToFloat((b[p] & 0xff) | (b[p + 1] & 0xff) << 8);
        }
        break;
      case BF16:
        for (int i = 0, p = 0; i < n; i++, p += 2) {
          dst[off + i] = HalfFloats.bf16ToFloat((b[p] & 0xff) | (b[p + 1] & 0xff) << 8);
        }
        break;
      case F8_E4M3:
        for (int i = 0; i < n; i++) {
          dst[off + i] = HalfFloats.fp8E4M3ToFloat(b[i]);
        }
        break;
      case F8_E5M2:
        for (int i = 0; i < n; i++) {
          dst[off + i] = HalfFloats.fp8E5M2ToFloat(b[i]);
        }
        break;
      case F64:
        for (int i = 0, p = 0; i < n; i++, p += 8) {
          long bits = (le32(b, p) & 0xffffffffL) | ((long) le32(b, p + 4) << 32);
          dst[off + i] = (float) Double.longBitsToDouble(bits);
        }
        break;
      default:
        throw new IllegalArgumentException("not a floating dtype: " + dtype);
    }
  }

  private static int le32(byte[] b, int p) {
    return (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 | (b[p + 2] & 0xff) << 16 | (b[p + 3] & 0xff) << 24;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    in.close();
  }

  @Override
  public String toString() {
    return label;
  }
}
