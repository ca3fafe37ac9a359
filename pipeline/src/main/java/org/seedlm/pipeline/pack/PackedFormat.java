package org.seedlm.pipeline.pack;

import org.seedlm.pipeline.BadInputException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.TreeMap;

/**
 * Names and metadata of the packed model format; {@code pipeline/FORMAT.md} is its specification.
 *
 * <p>A packed model is a safetensors checkpoint (single file or sharded with an index) in which
 * each quantized tensor {@code T} is stored as a U8 tensor {@code T.packed} of shape {@code [bytes]}
 * holding its blocks' bit strings back to back (MSB first, tail zero-padded to a byte), and the
 * file's {@code __metadata__} carries, under {@code seedlm.tensor.T}, a JSON {@link TensorMeta}
 * with everything needed to decode it. Every other tensor is stored unchanged.
 */
public final class PackedFormat {
  private PackedFormat() {}

  /** Value of the {@code seedlm.format} metadata key. */
  public static final String FORMAT_NAME = "seedlm-packed";
  /** Value of {@code seedlm.format_version}; readers refuse versions they do not know. */
  public static final int VERSION = 1;
  public static final String KEY_FORMAT = "seedlm.format";
  public static final String KEY_VERSION = "seedlm.format_version";
  public static final String KEY_TENSOR_PREFIX = "seedlm.tensor.";
  /** Suffix of the stored name of a packed tensor. */
  public static final String PACKED_SUFFIX = ".packed";
  /** The manifest of checksums written last by assembly. */
  public static final String MANIFEST = "manifest.json";

  private static final ObjectMapper JSON = new ObjectMapper()
      .configure(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /**
   * Decoding information of one packed tensor.
   *
   * @param codec canonical codec name
   * @param params codec parameters
   * @param blockSize weights per block
   * @param bitsPerBlock bits per block
   * @param blocks number of blocks
   * @param shape original shape
   * @param dtype original dtype name
   * @param flags reserved, 0 on write; readers refuse non-zero flags
   */
  public record TensorMeta(String codec, Map<String, String> params, int blockSize, int bitsPerBlock, long blocks,
      long[] shape, String dtype, int flags) {
    public TensorMeta {
      params = new TreeMap<>(params);
    }

    /** Number of weights of the original tensor. */
    public long numel() {
      return org.seedlm.pipeline.safetensors.TensorInfo.numel(shape);
    }

    /** Exact packed size in bytes. */
    public long packedBytes() {
      return (Math.multiplyExact(blocks, (long) bitsPerBlock) + 7) / 8;
    }

    public String toJson() {
      try {
        return JSON.writeValueAsString(this);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    public static TensorMeta fromJson(String json) {
      try {
        return JSON.readValue(json, TensorMeta.class);
      } catch (JsonProcessingException e) {
        throw new BadInputException("Cannot read packed tensor metadata: " + e.getOriginalMessage(), e);
      }
    }
  }
}
