package org.seedlm.pipeline.safetensors;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parsed and strictly validated safetensors header.
 *
 * <p>Layout of a safetensors file: an unsigned 64-bit little-endian header length {@code N}, then
 * {@code N} bytes of UTF-8 JSON (an object), then the data section. Every tensor's
 * {@code data_offsets} are relative to the data section, which starts at {@link #dataStart()} =
 * {@code 8 + N}.
 *
 * <p>Validation: {@code 2 <= N <= }{@value #MAX_HEADER_LENGTH} and {@code 8 + N <= } file length;
 * the header is valid UTF-8 JSON whose root is an object (duplicate keys and trailing content are
 * rejected); the optional {@code __metadata__} is an object of string to string; every other key is
 * a non-empty tensor name whose value is an object with exactly {@code dtype} (a known
 * {@link DType}), {@code shape} (array of non-negative integers) and {@code data_offsets} (array of
 * exactly two non-negative integers, {@code begin <= end}); the shape product does not overflow;
 * {@code end - begin == numel * dtype.size()}; {@code end} lies inside the file; and no two
 * non-empty byte ranges overlap. Gaps between tensors and bytes after the last tensor are allowed.
 */
public final class SafetensorsHeader {

  /** Largest accepted header length in bytes (the same limit as the reference implementation). */
  public static final long MAX_HEADER_LENGTH = 100_000_000L;

  /** The key of the optional string-to-string metadata object. */
  public static final String METADATA_KEY = "__metadata__";

  private static final Set<String> TENSOR_KEYS = Set.of("dtype", "shape", "data_offsets");

  static final ObjectMapper STRICT_JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  private final String file;
  private final long headerLength;
  private final long fileLength;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsHeader(String file, long headerLength, long fileLength,
      Map<String, TensorInfo> tensors, Map<String, String> metadata) {
    this.file = file;
    this.headerLength = headerLength;
    this.fileLength = fileLength;
    this.tensors = Collections.unmodifiableMap(tensors);
    this.metadata = Collections.unmodifiableMap(metadata);
  }

  /**
   * Decodes and validates the header length from the first 8 bytes of a file.
   *
   * @param file label used in error messages (usually the path)
   * @param first8 at least the first 8 bytes of the file (fewer means the file is too short)
   * @param first8Length how many bytes of {@code first8} are valid
   * @param fileLength length of the whole file in bytes
   * @return the header length {@code N}
   */
  public static long headerLength(String file, byte[] first8, int first8Length, long fileLength)
      throws CheckpointException {
    if (fileLength < 8 || first8Length < 8) {
      throw CheckpointException.file(file, "file is only " + Math.min(fileLength, first8Length)
          + " bytes, too short for a safetensors header length"
          + " (the file is truncated or not safetensors)");
    }
    long n = ByteBuffer.wrap(first8, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    return checkHeaderLength(file, n, fileLength);
  }

  /**
   * Validates a header length {@code n} (an unsigned 64-bit value stored in a long) against the
   * limits and the file length; returns it.
   */
  public static long checkHeaderLength(String file, long n, long fileLength)
      throws CheckpointException {
    String shown = Long.toUnsignedString(n);
    if (Long.compareUnsigned(n, 2) < 0) {
      throw CheckpointException.file(file, "header length " + shown
          + " is smaller than 2, the shortest JSON object (the file is corrupt or not safetensors)");
    }
    if (Long.compareUnsigned(n, MAX_HEADER_LENGTH) > 0) {
      throw CheckpointException.file(file, "header length " + shown
          + " exceeds the limit of " + MAX_HEADER_LENGTH
          + " bytes (the file is corrupt or not safetensors)");
    }
    if (8 + n > fileLength) {
      throw CheckpointException.file(file, "header length " + shown + " larger than the file ("
          + fileLength + " bytes): the file is truncated or not safetensors");
    }
    return n;
  }

  /**
   * Parses and validates a header.
   *
   * @param file label used in error messages (usually the path)
   * @param fileLength length of the whole file in bytes
   * @param header the {@code N} header bytes (without the 8-byte length prefix)
   */
  public static SafetensorsHeader parse(String file, long fileLength, byte[] header)
      throws CheckpointException {
    long n = checkHeaderLength(file, header.length, fileLength);
    long dataLength = fileLength - 8 - n;
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(header)).toString();
    } catch (CharacterCodingException e) {
      throw CheckpointException.file(file, "header is not valid UTF-8 (" + e
          + "; the file is corrupt or not safetensors)", e);
    }
    JsonNode root = readJson(file, "header", text);
    if (!root.isObject()) {
      throw CheckpointException.file(file, "header JSON is " + kind(root)
          + ", not an object (the file is corrupt or not safetensors)");
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : root.properties()) {
      String key = e.getKey();
      JsonNode value = e.getValue();
      if (key.equals(METADATA_KEY)) {
        if (!value.isObject()) {
          throw CheckpointException.file(file, "header __metadata__ is " + kind(value)
              + ", not an object of strings (fix the writer of this file)");
        }
        for (Map.Entry<String, JsonNode> m : value.properties()) {
          if (!m.getValue().isTextual()) {
            throw CheckpointException.file(file, "header __metadata__ entry '" + m.getKey()
                + "' is " + kind(m.getValue()) + ", not a string (__metadata__ must map strings"
                + " to strings; fix the writer of this file)");
          }
          metadata.put(m.getKey(), m.getValue().textValue());
        }
        continue;
      }
      tensors.put(key, parseTensor(file, key, value, dataLength));
    }
    checkOverlaps(file, tensors);
    return new SafetensorsHeader(file, n, fileLength, tensors, metadata);
  }

  /** Parses {@code text} as JSON with duplicate-key and trailing-token detection. */
  static JsonNode readJson(String file, String what, String text) throws CheckpointException {
    JsonNode root;
    try {
      root = STRICT_JSON.readTree(text);
    } catch (JsonProcessingException e) {
      JsonLocation loc = e.getLocation();
      String where = loc == null ? "" : " at line " + loc.getLineNr() + " column " + loc.getColumnNr();
      throw CheckpointException.file(file, "malformed JSON " + what + ": " + e.getOriginalMessage()
          + where + " (the file is corrupt or incomplete)", e);
    } catch (IOException e) {
      throw CheckpointException.file(file, "malformed JSON " + what + ": " + e.getMessage()
          + " (the file is corrupt or incomplete)", e);
    }
    if (root == null || root.isMissingNode()) {
      throw CheckpointException.file(file, "malformed JSON " + what
          + ": it is empty (the file is corrupt or incomplete)");
    }
    return root;
  }

  private static TensorInfo parseTensor(String file, String name, JsonNode v, long dataLength)
      throws CheckpointException {
    if (name.isEmpty()) {
      throw CheckpointException.file(file, "header has a tensor with an empty name"
          + " (fix the writer of this file)");
    }
    if (!v.isObject()) {
      throw CheckpointException.tensor(file, name, "entry is " + kind(v)
          + ", not an object with dtype, shape and data_offsets (fix the writer of this file)");
    }
    for (String required : List.of("dtype", "shape", "data_offsets")) {
      if (!v.has(required)) {
        throw CheckpointException.tensor(file, name, "has no " + required
            + " (each tensor needs dtype, shape and data_offsets; fix the writer of this file)");
      }
    }
    for (Map.Entry<String, JsonNode> f : v.properties()) {
      if (!TENSOR_KEYS.contains(f.getKey())) {
        throw CheckpointException.tensor(file, name, "has unexpected key '" + f.getKey()
            + "' (only dtype, shape and data_offsets are allowed; fix the writer of this file)");
      }
    }
    JsonNode dt = v.get("dtype");
    if (!dt.isTextual()) {
      throw CheckpointException.tensor(file, name, "dtype is " + kind(dt)
          + ", not a string (fix the writer of this file)");
    }
    DType dtype;
    try {
      dtype = DType.parse(dt.textValue());
    } catch (IllegalArgumentException e) {
      throw CheckpointException.tensor(file, name, "has " + e.getMessage());
    }
    JsonNode sh = v.get("shape");
    if (!sh.isArray()) {
      throw CheckpointException.tensor(file, name, "shape is " + kind(sh)
          + ", not an array of integers (fix the writer of this file)");
    }
    long[] shape = new long[sh.size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = nonNegativeLong(file, name, "shape dimension " + i, sh.get(i));
    }
    long numel = 1;
    for (long d : shape) {
      try {
        numel = Math.multiplyExact(numel, d);
      } catch (ArithmeticException e) {
        throw CheckpointException.tensor(file, name, "shape " + java.util.Arrays.toString(shape)
            + " has more elements than fit in a signed 64-bit integer (the header is corrupt)");
      }
    }
    long byteSize;
    try {
      byteSize = Math.multiplyExact(numel, (long) dtype.size());
    } catch (ArithmeticException e) {
      throw CheckpointException.tensor(file, name, "shape " + java.util.Arrays.toString(shape)
          + " of " + dtype + " needs more bytes than fit in a signed 64-bit integer"
          + " (the header is corrupt)");
    }
    JsonNode offs = v.get("data_offsets");
    if (!offs.isArray() || offs.size() != 2) {
      throw CheckpointException.tensor(file, name, "data_offsets is "
          + (offs.isArray() ? "an array of " + offs.size() + " elements" : kind(offs))
          + ", not an array of exactly 2 integers [begin, end] (fix the writer of this file)");
    }
    long begin = nonNegativeLong(file, name, "data_offsets begin", offs.get(0));
    long end = nonNegativeLong(file, name, "data_offsets end", offs.get(1));
    if (begin > end) {
      throw CheckpointException.tensor(file, name, "data_offsets [" + begin + ", " + end
          + "] has begin after end (the header is corrupt)");
    }
    if (end - begin != byteSize) {
      throw CheckpointException.tensor(file, name, "data_offsets [" + begin + ", " + end + "] span "
          + (end - begin) + " bytes but shape " + java.util.Arrays.toString(shape) + " of " + dtype
          + " needs " + numel + " x " + dtype.size() + " = " + byteSize
          + " bytes (the header is corrupt)");
    }
    if (end > dataLength) {
      throw CheckpointException.tensor(file, name, "data_offsets [" + begin + ", " + end
          + "] end beyond the end of the file: the data section holds only " + dataLength
          + " bytes (the file is truncated; download or copy it again)");
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  private static long nonNegativeLong(String file, String name, String what, JsonNode n)
      throws CheckpointException {
    if (!n.isIntegralNumber()) {
      throw CheckpointException.tensor(file, name, what + " is " + kind(n)
          + ", not an integer (fix the writer of this file)");
    }
    if (!n.canConvertToLong()) {
      throw CheckpointException.tensor(file, name, what + " " + n.asText()
          + " does not fit in a signed 64-bit integer (the header is corrupt)");
    }
    long x = n.longValue();
    if (x < 0) {
      throw CheckpointException.tensor(file, name, what + " is negative: " + x
          + " (the header is corrupt)");
    }
    return x;
  }

  private static void checkOverlaps(String file, Map<String, TensorInfo> tensors)
      throws CheckpointException {
    List<TensorInfo> sorted = new ArrayList<>(tensors.values());
    sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    TensorInfo furthest = null;
    for (TensorInfo t : sorted) {
      if (t.begin() == t.end()) {
        continue; // an empty range overlaps nothing
      }
      if (furthest != null && t.begin() < furthest.end()) {
        throw CheckpointException.tensor(file, t.name(), "bytes [" + t.begin() + ", " + t.end()
            + ") overlap tensor '" + furthest.name() + "' bytes [" + furthest.begin() + ", "
            + furthest.end() + ") (the header is corrupt)");
      }
      if (furthest == null || t.end() > furthest.end()) {
        furthest = t;
      }
    }
  }

  static String kind(JsonNode n) {
    if (n == null || n.isMissingNode()) {
      return "missing";
    }
    switch (n.getNodeType()) {
      case OBJECT: return "an object";
      case ARRAY: return "an array";
      case STRING: return "the string " + n.toString();
      case NUMBER: return "the number " + n.asText();
      case BOOLEAN: return "the boolean " + n.asText();
      case NULL: return "null";
      default: return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** The file label used in messages. */
  public String file() {
    return file;
  }

  /** The header length {@code N} (JSON bytes, without the 8-byte prefix). */
  public long headerLength() {
    return headerLength;
  }

  /** Length of the whole file in bytes. */
  public long fileLength() {
    return fileLength;
  }

  /** Absolute file position of the data section: {@code 8 + N}. */
  public long dataStart() {
    return 8 + headerLength;
  }

  /** Length of the data section: {@code fileLength - dataStart()}. */
  public long dataLength() {
    return fileLength - dataStart();
  }

  /** Tensors in header order (unmodifiable), name to info. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** Tensors sorted by their position in the data section (begin, then end). */
  public List<TensorInfo> tensorsByOffset() {
    List<TensorInfo> sorted = new ArrayList<>(tensors.values());
    sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    return sorted;
  }

  /** The {@code __metadata__} entries in header order (unmodifiable; empty if absent). */
  public Map<String, String> metadata() {
    return metadata;
  }
}
