package org.seedlm.pipeline.run;

/**
 * One row of the per-block result table (one encoded block), with the error values as stored
 * ({@link BlockTable#storedSqErr}, {@link BlockTable#storedStat}). SeedLM's seed, exponent and mantissas are
 * not stored: they are fields of {@code code} ({@link BlockFields}).
 *
 * @param tensor tensor name
 * @param layer transformer block index or -1
 * @param kind tensor kind (q, k, v, o, gate, up, down, ...)
 * @param unit unit id
 * @param block block index within the tensor
 * @param codec codec name
 * @param code the block's encoded bits, MSB first, left-aligned in ceil(bits/8) bytes
 * @param n weights in the block (padding excluded)
 * @param bits encoded bits of the block
 * @param sqErr squared reconstruction error over the n weights, as stored
 * @param sqNorm squared norm of the n weights, as stored
 * @param maxAbsErr largest absolute error, as stored
 */
public record BlockRow(String tensor, int layer, String kind, int unit, long block, String codec, byte[] code,
    int n, int bits, double sqErr, double sqNorm, double maxAbsErr) {}
