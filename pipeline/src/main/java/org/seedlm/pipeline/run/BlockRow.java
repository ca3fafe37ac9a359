package org.seedlm.pipeline.run;

/**
 * One row of the per-block result table (one encoded block).
 *
 * @param tensor tensor name
 * @param layer transformer block index or -1
 * @param kind tensor kind (q, k, v, o, gate, up, down, ...)
 * @param unit unit id
 * @param block block index within the tensor
 * @param codec codec name
 * @param seed SeedLM seed, or null for other codecs
 * @param exponent SeedLM shared exponent, or null
 * @param mantissas SeedLM coefficient mantissas, or an empty array
 * @param code the block's encoded bits, MSB first, left-aligned in ceil(bits/8) bytes
 * @param n weights in the block (padding excluded)
 * @param bits encoded bits of the block
 * @param sqErr squared reconstruction error over the n weights (float64)
 * @param sqNorm squared norm of the n weights
 * @param maxAbsErr largest absolute error
 */
public record BlockRow(String tensor, int layer, String kind, int unit, long block, String codec, Integer seed,
    Integer exponent, int[] mantissas, byte[] code, int n, int bits, double sqErr, double sqNorm,
    double maxAbsErr) {}
