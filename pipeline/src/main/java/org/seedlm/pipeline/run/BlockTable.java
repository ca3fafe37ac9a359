package org.seedlm.pipeline.run;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * The Parquet schema and I/O of per-block result files ({@code blocks/unit-N/ATTEMPT.parquet}).
 * Spark SQL reads these files as the {@code blocks} table; the packed model is assembled from their
 * {@code code} column.
 *
 * <p>Layout 2 (run spec version 2), chosen for size (11.3 bytes per block for SeedLM 4-bit on BERT-base,
 * README "Block tables"): Parquet v2 pages, ZSTD; one file holds one unit (one tensor), so tensor, layer, kind,
 * unit, codec, n and bits are dictionary/RLE-encoded constants (a few bytes per file); {@code block} is sorted
 * and DELTA_BINARY_PACKED; {@code code} is stored once (DELTA_BYTE_ARRAY), SeedLM's seed, exponent and
 * mantissas are derived from it when read ({@link BlockFields}); the three error values are FLOAT with
 * BYTE_STREAM_SPLIT. Precision: {@code sq_err} is the float64 sum rounded to the nearest float32
 * ({@link #storedSqErr}), which is what {@code verify} recomputes and compares bit for bit; {@code sq_norm} and
 * {@code max_abs_err} are rounded to 12 significant bits ({@link #storedStat}, relative error at most 2^-12).
 *
 * <p>Layout 1 (run spec version 1, seedlm before this layout): DOUBLE errors, seed, exponent and mantissas
 * stored beside {@code code}. {@link #read} reads both layouts.
 */
public final class BlockTable {
  private BlockTable() {}

  /** The layout this version writes (the run spec version of new runs). */
  public static final int LAYOUT = 2;

  /** Significant bits kept of {@code sq_norm} and {@code max_abs_err} (float32 has 24). */
  public static final int STAT_BITS = 12;

  public static final MessageType SCHEMA = Types.buildMessage()
      .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("tensor")
      .required(PrimitiveTypeName.INT32).named("layer")
      .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("kind")
      .required(PrimitiveTypeName.INT32).named("unit")
      .required(PrimitiveTypeName.INT64).named("block")
      .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("codec")
      .required(PrimitiveTypeName.BINARY).named("code")
      .required(PrimitiveTypeName.INT32).named("n")
      .required(PrimitiveTypeName.INT32).named("bits")
      .required(PrimitiveTypeName.FLOAT).named("sq_err")
      .required(PrimitiveTypeName.FLOAT).named("sq_norm")
      .required(PrimitiveTypeName.FLOAT).named("max_abs_err")
      .named("seedlm_block");

  /**
   * The stored form of a block's squared error in a layout: the float64 sum rounded to the nearest float32
   * (layout 2), the float64 sum itself (layout 1). {@code verify} compares recomputed errors in this form.
   */
  public static double storedSqErr(double sqErr, int layout) {
    return layout == 1 ? sqErr : (float) sqErr;
  }

  /**
   * The stored form of {@code sq_norm} and {@code max_abs_err}: rounded to nearest (ties away from zero) with
   * {@link #STAT_BITS} significant bits; NaN and infinities unchanged.
   */
  public static double storedStat(double v) {
    float f = (float) v;
    if (!Float.isFinite(f)) {
      return f;
    }
    int drop = 24 - STAT_BITS;
    int bits = Float.floatToRawIntBits(f) + (1 << (drop - 1));
    return Float.intBitsToFloat(bits & ~((1 << drop) - 1));
  }

  /** Writes rows (errors already in their stored form) to a new Parquet file (fails if it exists). */
  public static void write(Path path, Configuration conf, List<BlockRow> rows) throws IOException {
    SimpleGroupFactory groups = new SimpleGroupFactory(SCHEMA);
    try (ParquetWriter<Group> w = ExampleParquetWriter.builder(HadoopOutputFile.fromPath(path, conf))
        .withConf(conf)
        .withType(SCHEMA)
        .withWriterVersion(ParquetProperties.WriterVersion.PARQUET_2_0)
        .withCompressionCodec(CompressionCodecName.ZSTD)
        .withDictionaryEncoding("block", false)
        .withDictionaryEncoding("code", false)
        .withDictionaryEncoding("sq_err", false)
        .withDictionaryEncoding("sq_norm", false)
        .withDictionaryEncoding("max_abs_err", false)
        .withByteStreamSplitEncoding("sq_err", true)
        .withByteStreamSplitEncoding("sq_norm", true)
        .withByteStreamSplitEncoding("max_abs_err", true)
        .withWriteMode(ParquetFileWriter.Mode.CREATE)
        .build()) {
      for (BlockRow r : rows) {
        w.write(groups.newGroup()
            .append("tensor", r.tensor())
            .append("layer", r.layer())
            .append("kind", r.kind())
            .append("unit", r.unit())
            .append("block", r.block())
            .append("codec", r.codec())
            .append("code", Binary.fromConstantByteArray(r.code()))
            .append("n", r.n())
            .append("bits", r.bits())
            .append("sq_err", (float) r.sqErr())
            .append("sq_norm", (float) r.sqNorm())
            .append("max_abs_err", (float) r.maxAbsErr()));
      }
    }
  }

  /** Reads all rows of a file of either layout, in file order (float errors widened exactly to double). */
  public static List<BlockRow> read(Path path, Configuration conf) throws IOException {
    List<BlockRow> out = new ArrayList<>();
    try (ParquetReader<Group> r = ParquetReader.builder(new GroupReadSupport(), path).withConf(conf).build()) {
      for (Group g = r.read(); g != null; g = r.read()) {
        out.add(new BlockRow(
            g.getString("tensor", 0),
            g.getInteger("layer", 0),
            g.getString("kind", 0),
            g.getInteger("unit", 0),
            g.getLong("block", 0),
            g.getString("codec", 0),
            g.getBinary("code", 0).getBytes(),
            g.getInteger("n", 0),
            g.getInteger("bits", 0),
            real(g, "sq_err"),
            real(g, "sq_norm"),
            real(g, "max_abs_err")));
      }
    }
    return out;
  }

  /** The {@code block} and {@code code} columns of a file, in file order. */
  public record Codes(long[] blocks, byte[][] codes) {
    public int size() {
      return blocks.length;
    }

    public long block(int i) {
      return blocks[i];
    }

    public byte[] code(int i) {
      return codes[i];
    }
  }

  /** The two columns assembly reads (the same in both layouts). */
  private static final MessageType CODES = Types.buildMessage()
      .required(PrimitiveTypeName.INT64).named("block")
      .required(PrimitiveTypeName.BINARY).named("code")
      .named("seedlm_block");

  /** Reads only the {@code block} and {@code code} columns of a file of either layout (column projection). */
  public static Codes readCodes(Path path, Configuration conf) throws IOException {
    Configuration projected = new Configuration(conf);
    projected.set(ReadSupport.PARQUET_READ_SCHEMA, CODES.toString());
    List<Long> blocks = new ArrayList<>();
    List<byte[]> codes = new ArrayList<>();
    try (ParquetReader<Group> r = ParquetReader.builder(new GroupReadSupport(), path).withConf(projected).build()) {
      for (Group g = r.read(); g != null; g = r.read()) {
        blocks.add(g.getLong("block", 0));
        codes.add(g.getBinary("code", 0).getBytes());
      }
    }
    return new Codes(blocks.stream().mapToLong(Long::longValue).toArray(), codes.toArray(new byte[0][]));
  }

  /** The {@code bits} column of a file, alone (column projection: no code is read). */
  private static final MessageType BITS = Types.buildMessage()
      .required(PrimitiveTypeName.INT32).named("bits")
      .named("seedlm_block");

  /** Reads only the {@code bits} column of a file, one value per row (a tensor codec's row: its encoded length). */
  public static long[] readBits(Path path, Configuration conf) throws IOException {
    Configuration projected = new Configuration(conf);
    projected.set(ReadSupport.PARQUET_READ_SCHEMA, BITS.toString());
    List<Long> bits = new ArrayList<>();
    try (ParquetReader<Group> r = ParquetReader.builder(new GroupReadSupport(), path).withConf(projected).build()) {
      for (Group g = r.read(); g != null; g = r.read()) {
        bits.add((long) g.getInteger("bits", 0));
      }
    }
    return bits.stream().mapToLong(Long::longValue).toArray();
  }

  private static double real(Group g, String field) {
    Type t = g.getType().getType(field);
    return t.asPrimitiveType().getPrimitiveTypeName() == PrimitiveTypeName.DOUBLE
        ? g.getDouble(field, 0) : g.getFloat(field, 0);
  }
}
