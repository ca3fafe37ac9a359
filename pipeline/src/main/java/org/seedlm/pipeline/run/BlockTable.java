package org.seedlm.pipeline.run;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

/**
 * The Parquet schema and I/O of per-block result files ({@code blocks/unit-N/ATTEMPT.parquet}).
 * Spark SQL reads these files as the {@code blocks} table; the packed model is assembled from their
 * {@code code} column.
 */
public final class BlockTable {
  private BlockTable() {}

  public static final MessageType SCHEMA = Types.buildMessage()
      .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("tensor")
      .required(PrimitiveTypeName.INT32).named("layer")
      .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("kind")
      .required(PrimitiveTypeName.INT32).named("unit")
      .required(PrimitiveTypeName.INT64).named("block")
      .required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("codec")
      .optional(PrimitiveTypeName.INT32).named("seed")
      .optional(PrimitiveTypeName.INT32).named("exponent")
      .repeated(PrimitiveTypeName.INT32).named("mantissas")
      .required(PrimitiveTypeName.BINARY).named("code")
      .required(PrimitiveTypeName.INT32).named("n")
      .required(PrimitiveTypeName.INT32).named("bits")
      .required(PrimitiveTypeName.DOUBLE).named("sq_err")
      .required(PrimitiveTypeName.DOUBLE).named("sq_norm")
      .required(PrimitiveTypeName.DOUBLE).named("max_abs_err")
      .named("seedlm_block");

  /** Writes rows to a new Parquet file (fails if it exists). */
  public static void write(Path path, Configuration conf, List<BlockRow> rows) throws IOException {
    SimpleGroupFactory groups = new SimpleGroupFactory(SCHEMA);
    try (ParquetWriter<Group> w = ExampleParquetWriter.builder(HadoopOutputFile.fromPath(path, conf))
        .withConf(conf)
        .withType(SCHEMA)
        .withCompressionCodec(CompressionCodecName.SNAPPY)
        .withWriteMode(ParquetFileWriter.Mode.CREATE)
        .build()) {
      for (BlockRow r : rows) {
        Group g = groups.newGroup()
            .append("tensor", r.tensor())
            .append("layer", r.layer())
            .append("kind", r.kind())
            .append("unit", r.unit())
            .append("block", r.block())
            .append("codec", r.codec());
        if (r.seed() != null) {
          g.append("seed", r.seed());
        }
        if (r.exponent() != null) {
          g.append("exponent", r.exponent());
        }
        for (int m : r.mantissas()) {
          g.append("mantissas", m);
        }
        g.append("code", Binary.fromConstantByteArray(r.code()))
            .append("n", r.n())
            .append("bits", r.bits())
            .append("sq_err", r.sqErr())
            .append("sq_norm", r.sqNorm())
            .append("max_abs_err", r.maxAbsErr());
        w.write(g);
      }
    }
  }

  /** Reads all rows of a file, in file order. */
  public static List<BlockRow> read(Path path, Configuration conf) throws IOException {
    List<BlockRow> out = new ArrayList<>();
    try (ParquetReader<Group> r = ParquetReader.builder(new GroupReadSupport(), path).withConf(conf).build()) {
      for (Group g = r.read(); g != null; g = r.read()) {
        int nm = g.getFieldRepetitionCount("mantissas");
        int[] mant = new int[nm];
        for (int i = 0; i < nm; i++) {
          mant[i] = g.getInteger("mantissas", i);
        }
        out.add(new BlockRow(
            g.getString("tensor", 0),
            g.getInteger("layer", 0),
            g.getString("kind", 0),
            g.getInteger("unit", 0),
            g.getLong("block", 0),
            g.getString("codec", 0),
            g.getFieldRepetitionCount("seed") > 0 ? g.getInteger("seed", 0) : null,
            g.getFieldRepetitionCount("exponent") > 0 ? g.getInteger("exponent", 0) : null,
            mant,
            g.getBinary("code", 0).getBytes(),
            g.getInteger("n", 0),
            g.getInteger("bits", 0),
            g.getDouble("sq_err", 0),
            g.getDouble("sq_norm", 0),
            g.getDouble("max_abs_err", 0)));
      }
    }
    return out;
  }
}
