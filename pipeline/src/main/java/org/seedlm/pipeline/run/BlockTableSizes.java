package org.seedlm.pipeline.run;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;

/**
 * What a run's block tables cost: bytes per block in all (file sizes) and per column (compressed column chunk
 * sizes from the Parquet footers, with their encodings), over the committed files of {@code RUN}.
 *
 * <p>Arguments: {@code RUN} (any Hadoop path).
 */
public final class BlockTableSizes {
  private BlockTableSizes() {}

  public static void main(String[] args) throws Exception {
    RunDirectory run = RunDirectory.at(args[0], new Configuration());
    long files = 0;
    long blocks = 0;
    Map<String, long[]> columns = new TreeMap<>();
    Map<String, String> encodings = new TreeMap<>();
    for (CommitMarker m : run.readCommits().values()) {
      files += run.fs().getFileStatus(run.path(m.file())).getLen();
      blocks += m.rows();
      try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(run.path(m.file()), run.conf()))) {
        for (BlockMetaData b : r.getFooter().getBlocks()) {
          for (ColumnChunkMetaData c : b.getColumns()) {
            String name = c.getPath().toDotString();
            columns.computeIfAbsent(name, x -> new long[1])[0] += c.getTotalSize();
            encodings.put(name, c.getEncodings().toString());
          }
        }
      }
    }
    System.out.printf(Locale.ROOT, "%s: %,d blocks, %,d bytes of Parquet = %.2f bytes per block%n", args[0], blocks,
        files, files / (double) blocks);
    long sum = 0;
    for (Map.Entry<String, long[]> e : columns.entrySet()) {
      sum += e.getValue()[0];
      System.out.printf(Locale.ROOT, "  %-12s %7.3f bytes per block  %s%n", e.getKey(), e.getValue()[0] / (double) blocks,
          encodings.get(e.getKey()));
    }
    System.out.printf(Locale.ROOT, "  %-12s %7.3f bytes per block (footers, headers, page indexes)%n", "rest",
        (files - sum) / (double) blocks);
  }
}
