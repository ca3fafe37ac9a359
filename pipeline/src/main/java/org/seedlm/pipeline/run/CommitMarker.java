package org.seedlm.pipeline.run;

/**
 * The commit record of one unit, written to {@code commits/unit-NNNNNNNN.json} after its Parquet
 * file is complete. Only files named by a commit marker are part of a run: a retried or speculative
 * task's extra file is never read, so output written twice never duplicates rows.
 *
 * @param unit unit id
 * @param tensor tensor name
 * @param firstBlock first block index within the tensor
 * @param rows number of block rows in the file (= the unit's block count)
 * @param file the Parquet file, relative to the run directory
 * @param fileBytes its length
 * @param codeSha256 SHA-256 of the unit's packed block bits (the bytes assembly will write)
 * @param weights number of weights (padding excluded)
 * @param sqErr sum of squared errors
 * @param sqNorm sum of squared weights
 * @param maxAbsErr largest absolute error
 * @param seconds wall time of the unit's computation
 * @param finishedAtMillis epoch millis at commit
 * @param attempt the attempt id that won the commit
 * @param inputSha256 SHA-256 of the checkpoint bytes the unit read (its byte range of the tensor, as
 *     stored); null in a marker written before seedlm recorded it ("not recorded": verify cannot check
 *     the unit's input)
 * @param offsets the exponent offsets the unit chose (SeedLM format version 2), one per group of G blocks
 *     of the unit, in block order (the unit starts a group); empty for a codec without them; null in a
 *     marker written before format version 2 (every offset 0)
 */
public record CommitMarker(int unit, String tensor, long firstBlock, int rows, String file, long fileBytes,
    String codeSha256, long weights, double sqErr, double sqNorm, double maxAbsErr, double seconds,
    long finishedAtMillis, String attempt, String inputSha256, java.util.List<Integer> offsets)
    implements java.io.Serializable {

  public CommitMarker {
    offsets = offsets == null ? null : java.util.List.copyOf(offsets);
  }

  /** A marker without exponent offsets (as written before format version 2). */
  public CommitMarker(int unit, String tensor, long firstBlock, int rows, String file, long fileBytes,
      String codeSha256, long weights, double sqErr, double sqNorm, double maxAbsErr, double seconds,
      long finishedAtMillis, String attempt, String inputSha256) {
    this(unit, tensor, firstBlock, rows, file, fileBytes, codeSha256, weights, sqErr, sqNorm, maxAbsErr, seconds,
        finishedAtMillis, attempt, inputSha256, null);
  }

  /** The offsets as an array; empty when none are recorded. */
  public int[] offsetArray() {
    return offsets == null ? new int[0] : offsets.stream().mapToInt(Integer::intValue).toArray();
  }
}
