package org.seedlm.pipeline.bert;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * A single-shard TensorFlow V2 checkpoint held in memory: the parsed {@link TfCheckpointIndex} and
 * the raw bytes of {@code variables.data-00000-of-00001}. Tensor bytes are exposed as read-only
 * little-endian views (no copies).
 */
public final class TfCheckpoint {

  private final TfCheckpointIndex index;
  private final byte[] data;
  private final String dataFileName;

  /**
   * @param data the whole data shard (not copied; must not be modified afterwards)
   * @throws TfCheckpointFormatException if the bundle has several shards or an entry lies outside the data
   */
  public TfCheckpoint(TfCheckpointIndex index, byte[] data, String dataFileName)
      throws TfCheckpointFormatException {
    this.index = index;
    this.data = data;
    this.dataFileName = dataFileName;
    if (index.numShards() != 1) {
      throw new TfCheckpointFormatException(index.fileName() + ": " + index.numShards()
          + " data shards; only single-shard checkpoints are supported");
    }
    for (TfCheckpointIndex.Entry e : index.entries().values()) {
      if (e.offset() + e.size() > data.length) {
        throw new TfCheckpointFormatException(dataFileName + ": tensor " + e.name() + " (offset " + e.offset()
            + ", size " + e.size() + ") extends past the end of the " + data.length + "-byte data file"
            + " (truncated?)");
      }
    }
  }

  public TfCheckpointIndex index() {
    return index;
  }

  /** The tensor's raw bytes as a read-only little-endian view positioned at 0. */
  public ByteBuffer bytes(TfCheckpointIndex.Entry e) {
    return ByteBuffer.wrap(data, (int) e.offset(), (int) e.size()).slice().asReadOnlyBuffer()
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Writes the tensor's raw bytes unchanged to {@code out}. */
  public void writeTo(TfCheckpointIndex.Entry e, java.io.OutputStream out) throws java.io.IOException {
    out.write(data, (int) e.offset(), (int) e.size());
  }

  /** A copy of a float tensor's values in row-major (TensorFlow) order. */
  public float[] floats(String name) throws TfCheckpointFormatException {
    TfCheckpointIndex.Entry e = index.entry(name);
    if (e.dtype() != TfCheckpointIndex.TfDType.FLOAT) {
      throw new TfCheckpointFormatException(dataFileName + ": tensor " + name + " is " + e.dtype() + ", not FLOAT");
    }
    float[] out = new float[(int) e.numel()];
    bytes(e).asFloatBuffer().get(out);
    return out;
  }

  /**
   * Checks a tensor's bytes against the CRC32C stored in the index. TensorFlow stores the
   * <em>masked</em> CRC ({@link TfCheckpointIndex#mask(int)}), which is what is compared here.
   */
  public void verifyChecksum(TfCheckpointIndex.Entry e) throws TfCheckpointFormatException {
    CRC32C crc = new CRC32C();
    crc.update(data, (int) e.offset(), (int) e.size());
    int raw = (int) crc.getValue();
    if (TfCheckpointIndex.mask(raw) != e.crc32c()) {
      throw new TfCheckpointFormatException(String.format(
          "%s: CRC32C mismatch for tensor %s (offset %d, size %d): index stores 0x%08x, data gives masked"
              + " 0x%08x (unmasked 0x%08x); the data file is corrupt or does not belong to this index",
          dataFileName, e.name(), e.offset(), e.size(), e.crc32c(), TfCheckpointIndex.mask(raw), raw));
    }
  }

  /** Verifies every tensor's checksum. */
  public void verifyAll() throws TfCheckpointFormatException {
    for (TfCheckpointIndex.Entry e : index.entries().values()) {
      verifyChecksum(e);
    }
  }
}
