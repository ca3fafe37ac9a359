package org.seedlm.pipeline.gpu;

import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * Where SeedLM's decode and exact seed search run, when not on the CPU kernels: the small interface
 * the jobs pick an implementation of ({@link Devices#open}); engine-free (no Spark). The only
 * implementation is {@link CudaKernels} (CUDA through the driver API); the CPU path is the
 * existing {@code SeedLmDecoder} and {@code FastSeedSearch}.
 *
 * <p>Both methods return exactly what the CPU path returns: decode bit for bit the floats of {@code
 * SeedLmDecoder}, search the reference's arg-min (ties to the smaller seed) with its e, q and error.
 * Offsets (SPEC section 4b, one signed byte per group of {@code groupSize} blocks) may be null for
 * version 1.
 */
public interface SeedLmAccelerator extends AutoCloseable {
  /** SPEC 4b coefficient rules, as the kernels number them. */
  int RULE_NEAREST = 0;

  int RULE_BEST = 1;

  /** E.g. {@code cuda:0 (NVIDIA H200, driver 12080)}. */
  String describe();

  /** Decodes a packed tensor of {@code blocks} blocks, keeping its first {@code numel} weights. */
  float[] decodeTensor(SeedLmParams params, byte[] packed, long blocks, long numel, byte[] offsets, int groupSize);

  /** Exact search of blocks {@code w[off + b*C ..]}, b in [0, nBlocks): one choice per block. */
  SeedChoice[] search(SeedLmParams params, float[] w, int off, int nBlocks, byte[] offsets, int groupSize, int rule);

  @Override
  void close();
}
