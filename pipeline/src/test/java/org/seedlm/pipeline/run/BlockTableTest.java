package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockTableTest {
  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();

  @Test
  void statsAreRoundedToNearestWithTwelveSignificantBits() {
    Random r = new Random(7);
    for (int i = 0; i < 100_000; i++) {
      double v = Math.abs(r.nextGaussian()) * Math.pow(10, r.nextInt(12) - 9);
      double got = BlockTable.storedStat(v);
      // Brute force: BigDecimal rounding of the float32 value to 12 binary digits, half up, through the float's
      // exact integer mantissa (v = m * 2^e with m < 2^24).
      float f = (float) v;
      int e = Math.getExponent(f) - 23;
      long m = Math.round(Math.scalb((double) f, -e));
      BigDecimal kept = new BigDecimal(m).divide(BigDecimal.valueOf(1L << 12)).setScale(0, RoundingMode.HALF_UP);
      double want = Math.scalb(kept.doubleValue() * (1L << 12), e);
      assertEquals(want, got, "value " + v);
      assertTrue(Math.abs(got - v) <= Math.scalb(Math.abs(v), -12), "value " + v);
    }
    assertEquals(0.0, BlockTable.storedStat(0.0));
    assertTrue(Double.isNaN(BlockTable.storedStat(Double.NaN)));
    assertEquals(Double.POSITIVE_INFINITY, BlockTable.storedStat(Double.POSITIVE_INFINITY));
    // sq_err: the nearest float32 (layout 2), the float64 itself (layout 1).
    assertEquals((double) (float) 0.1, BlockTable.storedSqErr(0.1, 2));
    assertEquals(0.1, BlockTable.storedSqErr(0.1, 1));
  }

  @Test
  void rowsRoundTripWithTheDocumentedEncodings() throws Exception {
    Path p = new Path(tmp.resolve("u.parquet").toString());
    List<BlockRow> rows = new java.util.ArrayList<>();
    Random r = new Random(3);
    for (int b = 0; b < 5000; b++) {
      byte[] code = new byte[4];
      r.nextBytes(code);
      rows.add(new BlockRow("model.layers.3.mlp.up_proj.weight", 3, "up", 17, 1000 + b, "seedlm-4bit", code, 8,
          32, BlockTable.storedSqErr(r.nextDouble() * 1e-5, 2), BlockTable.storedStat(r.nextDouble() * 1e-3),
          BlockTable.storedStat(r.nextDouble() * 1e-2)));
    }
    BlockTable.write(p, conf, rows);
    List<BlockRow> back = BlockTable.read(p, conf);
    assertEquals(rows.size(), back.size());
    for (int i = 0; i < rows.size(); i++) {
      BlockRow a = rows.get(i);
      BlockRow b = back.get(i);
      assertEquals(List.of(a.tensor(), a.layer(), a.kind(), a.unit(), a.block(), a.codec(), a.n(), a.bits(),
          a.sqErr(), a.sqNorm(), a.maxAbsErr()), List.of(b.tensor(), b.layer(), b.kind(), b.unit(), b.block(),
          b.codec(), b.n(), b.bits(), b.sqErr(), b.sqNorm(), b.maxAbsErr()));
      assertTrue(java.util.Arrays.equals(a.code(), b.code()));
    }
    Map<String, Set<Encoding>> enc = new TreeMap<>();
    try (ParquetFileReader rd = ParquetFileReader.open(HadoopInputFile.fromPath(p, conf))) {
      for (BlockMetaData bm : rd.getFooter().getBlocks()) {
        for (ColumnChunkMetaData c : bm.getColumns()) {
          enc.computeIfAbsent(c.getPath().toDotString(), x -> EnumSet.noneOf(Encoding.class)).addAll(c.getEncodings());
        }
      }
    }
    assertEquals(Set.of(Encoding.DELTA_BINARY_PACKED), enc.get("block"));
    assertEquals(Set.of(Encoding.DELTA_BYTE_ARRAY), enc.get("code"));
    for (String f : List.of("sq_err", "sq_norm", "max_abs_err")) {
      assertEquals(Set.of(Encoding.BYTE_STREAM_SPLIT), enc.get(f), f);
    }
    assertTrue(enc.get("tensor").contains(Encoding.RLE_DICTIONARY), enc.toString());
  }

  /** A file of layout 1 (before lean block tables), written here with that layout's schema. */
  @Test
  void layoutOneFilesAreReadWithTheirFloat64Errors() throws Exception {
    // Layout 1's columns, as the writer before lean block tables declared them.
    Types.MessageTypeBuilder b = Types.buildMessage();
    for (String c : List.of("s tensor", "i layer", "s kind", "i unit", "l block", "s codec", "o seed", "o exponent",
        "r mantissas", "b code", "i n", "i bits", "d sq_err", "d sq_norm", "d max_abs_err")) {
      String name = c.substring(2);
      switch (c.charAt(0)) {
        case 's' -> b.required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(name);
        case 'i' -> b.required(PrimitiveTypeName.INT32).named(name);
        case 'l' -> b.required(PrimitiveTypeName.INT64).named(name);
        case 'o' -> b.optional(PrimitiveTypeName.INT32).named(name);
        case 'r' -> b.repeated(PrimitiveTypeName.INT32).named(name);
        case 'b' -> b.required(PrimitiveTypeName.BINARY).named(name);
        default -> b.required(PrimitiveTypeName.DOUBLE).named(name);
      }
    }
    MessageType v1 = b.named("seedlm_block");
    Path p = new Path(tmp.resolve("old.parquet").toString());
    try (ParquetWriter<Group> w = ExampleParquetWriter.builder(p).withConf(conf).withType(v1).build()) {
      w.write(new SimpleGroupFactory(v1).newGroup().append("tensor", "t").append("layer", 0).append("kind", "q")
          .append("unit", 2).append("block", 9L).append("codec", "seedlm-4bit").append("seed", 0x1234)
          .append("exponent", -3).append("mantissas", 1).append("mantissas", -2).append("mantissas", 7)
          .append("code", Binary.fromConstantByteArray(new byte[] {0x12, 0x34, (byte) 0xD1, (byte) 0xE7}))
          .append("n", 8).append("bits", 32).append("sq_err", 0.1).append("sq_norm", 0.7).append("max_abs_err", 0.3));
    }
    BlockRow r = BlockTable.read(p, conf).get(0);
    assertEquals(List.of(9L, 0.1, 0.7, 0.3), List.of(r.block(), r.sqErr(), r.sqNorm(), r.maxAbsErr()));
    BlockFields fields = new BlockFields("seedlm-4bit");
    assertEquals(List.of(0x1234, -3, List.of(1, -2, 7)),
        List.of(fields.seed(r.code()), fields.exponent(r.code()), fields.mantissas(r.code())));
  }
}
