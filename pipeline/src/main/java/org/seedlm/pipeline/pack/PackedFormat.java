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
  /**
   * Value of {@code seedlm.format_version} written for codecs with exponent offsets (SeedLM with G &gt;
   * 0); readers refuse versions they do not know.
   */
  public static final int VERSION = 2;
  /** The version without exponent offsets: written when no codec has them, read as all offsets 0. */
  public static final int VERSION_1 = 1;
  public static final String KEY_FORMAT = "seedlm.format";
  public static final String KEY_VERSION = "seedlm.format_version";
  public static final String KEY_TENSOR_PREFIX = "seedlm.tensor.";
  /** Suffix of the stored name of a packed tensor. */
  public static final String PACKED_SUFFIX = ".packed";
  /** The manifest of checksums written last by assembly. */
  public static final String MANIFEST = "manifest.json";

  /** The format version a packed model of {@code codec} is written as: 2 with exponent offsets, else 1. */
  public static int versionFor(org.seedlm.pipeline.codec.BlockCodec codec) {
    return versionFor(codec.groupBlocks());
  }

  /** The format version of tensors with {@code groupBlocks} blocks per exponent-offset group (0: none, version 1). */
  public static int versionFor(int groupBlocks) {
    return groupBlocks > 0 ? VERSION : VERSION_1;
  }

  /** Whether a reader of this build knows format version {@code v}. */
  public static boolean knownVersion(String v) {
    return Integer.toString(VERSION).equals(v) || Integer.toString(VERSION_1).equals(v);
  }

  /** Exponent offsets as stored: base64 (RFC 4648, with padding) of one signed byte per group. */
  public static String encodeOffsets(int[] offsets) {
    byte[] b = new byte[offsets.length];
    for (int i = 0; i < b.length; i++) {
      if (offsets[i] < Byte.MIN_VALUE || offsets[i] > Byte.MAX_VALUE) {
        throw new IllegalArgumentException("Cannot store exponent offset " + offsets[i] + " in a signed byte");
      }
      b[i] = (byte) offsets[i];
    }
    return java.util.Base64.getEncoder().encodeToString(b);
  }

  /** The inverse of {@link #encodeOffsets}. */
  public static int[] decodeOffsets(String stored) {
    byte[] b;
    try {
      b = java.util.Base64.getDecoder().decode(stored);
    } catch (IllegalArgumentException e) {
      throw new BadInputException("Cannot read packed tensor exponent offsets: not base64 (" + e.getMessage() + ")", e);
    }
    int[] o = new int[b.length];
    for (int i = 0; i < b.length; i++) {
      o[i] = b[i];
    }
    return o;
  }

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
   * @param offsets format version 2: the exponent offsets, one signed byte per group of {@code G =
   *     params.G} blocks, base64 ({@link #encodeOffsets}); null (not written) without offsets
   * @param bytes a tensor-level codec ({@link org.seedlm.pipeline.codec.TensorCodec}): the length of its encoded
   *     bytes, which depends on the weights (block size, bits per block 0, one block); null (not written) for a
   *     block codec, whose length follows from blocks and bits
   */
  public record TensorMeta(String codec, Map<String, String> params, int blockSize, int bitsPerBlock, long blocks,
      long[] shape, String dtype, int flags,
      @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
      String offsets,
      @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
      Long bytes) {
    public TensorMeta {
      params = new TreeMap<>(params);
    }

    /** Metadata of a block codec's tensor. */
    public TensorMeta(String codec, Map<String, String> params, int blockSize, int bitsPerBlock, long blocks,
        long[] shape, String dtype, int flags, String offsets) {
      this(codec, params, blockSize, bitsPerBlock, blocks, shape, dtype, flags, offsets, null);
    }

    /** Metadata of a tensor-level codec's tensor of {@code bytes} encoded bytes. */
    public static TensorMeta ofTensorCodec(org.seedlm.pipeline.codec.TensorCodec c, long[] shape, String dtype,
        long bytes) {
      return new TensorMeta(c.name(), c.params(), 0, 0, 1, shape, dtype, 0, null, bytes);
    }

    /** Whether the tensor is encoded by a tensor-level codec (it records its byte length). */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isTensorCodec() {
      return bytes != null;
    }

    /** Metadata without exponent offsets (format version 1). */
    public TensorMeta(String codec, Map<String, String> params, int blockSize, int bitsPerBlock, long blocks,
        long[] shape, String dtype, int flags) {
      this(codec, params, blockSize, bitsPerBlock, blocks, shape, dtype, flags, null, null);
    }

    /** G, blocks per exponent-offset group ({@code params.G}); 0 without offsets. */
    public int groupBlocks() {
      String g = params.get(org.seedlm.pipeline.codec.SeedLmCodec.PARAM_GROUP_BLOCKS);
      try {
        return g == null ? 0 : Integer.parseInt(g);
      } catch (NumberFormatException e) {
        throw new BadInputException("Cannot read packed tensor metadata: G=" + g + " is not an integer", e);
      }
    }

    /** The exponent offsets, one per group; empty without offsets. */
    public int[] offsetValues() {
      return offsets == null ? new int[0] : decodeOffsets(offsets);
    }

    /** Number of weights of the original tensor. */
    public long numel() {
      return org.seedlm.pipeline.safetensors.TensorInfo.numel(shape);
    }

    /** Exact packed size in bytes. */
    public long packedBytes() {
      return bytes != null ? bytes : (Math.multiplyExact(blocks, (long) bitsPerBlock) + 7) / 8;
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
