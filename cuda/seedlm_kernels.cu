// SeedLM CUDA kernels: decode of a packed tensor and the exact seed search. The arithmetic is in
// seedlm.cuh (shared with the host harness); compile with --fmad=false and without fast-math
// (deploy/build-cuda). Loaded from Java by org.seedlm.pipeline.gpu.CudaKernels (driver API).
#include "seedlm.cuh"

/**
 * Decode: one thread per weight. Weight x of the tensor is weight i = x % C of block b = x / C;
 * out[x] for x < numel (the padding of the last block is not written).
 *   packed (len bytes)   the tensor's packed bit string (SPEC section 7)
 *   uf     (2^K, C, P)   SeedBasis.uf(): float32 U per seed, slot 0 unused
 *   offsets (ceil(blocks / G),) signed o_g per group of G blocks, or null (version 1)
 *   bad    the smallest block index + 1 whose seed is 0 (left 0 when none)
 */
extern "C" __global__ void slm_decode(const uint8_t* packed, unsigned long long len,
                                      unsigned long long numel, int c, int p, int k,
                                      const float* uf, const int8_t* offsets, int g, float* out,
                                      unsigned long long* bad) {
  unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long x = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; x < numel;
       x += stride) {
    unsigned long long b = x / (unsigned)c;
    int i = (int)(x - b * (unsigned)c);
    int e_rel, q[SLM_MAX_P];
    uint32_t seed = slm_read_block(packed, len, b, p, k, &e_rel, q);
    if (seed == 0) {
      atomicMin(bad, b + 1);  // *bad starts at ULLONG_MAX
      continue;
    }
    int e = slm_offset(offsets, g, b) + e_rel;
    float th[SLM_MAX_P];
    for (int j = 0; j < p; j++) th[j] = slm_th(q[j], e);
    out[x] = slm_decode_weight(uf + (size_t)seed * c * p, th, i, p);
  }
}

/**
 * Exact search: one thread block per SeedLM block (grid-stride), each thread scoring seeds tid + 1,
 * tid + 1 + blockDim, ...; the (error, seed) minimum is reduced in shared memory with ties to the
 * smaller seed, then thread 0 rescores the winner for its e_rel and q. Shared memory: C doubles +
 * blockDim.x (double + uint32). blockDim.x must be a power of two.
 *   w (nblocks, C) float32 weights; pinv (2^K, P, C) and u (2^K, C, P): SeedBasis.pinv() and u()
 *   seed_out, e_out (nblocks,); q_out (nblocks, P); err_out (nblocks,) the float64 error
 */
extern "C" __global__ void slm_search(const float* w, int nblocks, int c, int p, int k,
                                      const double* pinv, const double* u, const int8_t* offsets,
                                      int g, int rule, int* seed_out, int* e_out, int* q_out,
                                      double* err_out) {
  extern __shared__ double sh[];
  double* wb = sh;                                       // (C,)
  double* rerr = sh + c;                                 // (blockDim,)
  uint32_t* rseed = (uint32_t*)(rerr + blockDim.x);      // (blockDim,)
  uint32_t nseeds = (1u << k) - 1;
  for (int b = blockIdx.x; b < nblocks; b += gridDim.x) {
    for (int i = threadIdx.x; i < c; i += blockDim.x) wb[i] = (double)w[(size_t)b * c + i];
    __syncthreads();
    int og = slm_offset(offsets, g, (uint64_t)b);
    double best = INFINITY;
    uint32_t bestSeed = 0xffffffffu;
    slm_search_seeds(wb, pinv, u, c, p, og, rule, threadIdx.x + 1, nseeds, blockDim.x, &best,
                     &bestSeed);
    rerr[threadIdx.x] = best;
    rseed[threadIdx.x] = bestSeed;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
      if (threadIdx.x < h &&
          slm_better(rerr[threadIdx.x + h], rseed[threadIdx.x + h], rerr[threadIdx.x], rseed[threadIdx.x])) {
        rerr[threadIdx.x] = rerr[threadIdx.x + h];
        rseed[threadIdx.x] = rseed[threadIdx.x + h];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      uint32_t s = rseed[0];
      int e_rel, q[SLM_MAX_P];
      size_t cp = (size_t)c * p;
      double err = slm_score_seed(wb, pinv + s * cp, u + s * cp, c, p, og, rule, &e_rel, q);
      seed_out[b] = (int)s;
      e_out[b] = e_rel;
      for (int j = 0; j < p; j++) q_out[(size_t)b * p + j] = q[j];
      err_out[b] = err;
    }
    __syncthreads();
  }
}
