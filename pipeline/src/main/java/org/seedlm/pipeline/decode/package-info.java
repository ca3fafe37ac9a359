/**
 * Fast SeedLM decoding: {@link org.seedlm.pipeline.decode.SeedLmDecoder} (a plain scalar reference
 * twin and a Vector API decoder that reproduce the canonical {@code SeedLmCodec.decode} bit for bit)
 * and {@link org.seedlm.pipeline.decode.DecodeBenchmark}.
 *
 * <p>The project keeps the Vector API ({@code jdk.incubator.vector}) code of the seed <em>search</em>
 * in {@code org.seedlm.pipeline.kernel}; the SIMD <em>decode</em> kernel lives here, in this package.
 * {@code -Dseedlm.vectorBitSize=0} forces the scalar path of both.
 */
package org.seedlm.pipeline.decode;
