// SeedLM decode and exact seed search: the arithmetic, as __host__ __device__ functions, so that the
// same source runs in the CUDA kernels (seedlm_kernels.cu) and on the host (harness.cpp).
//
// Definitions: SPEC.md sections 2 to 5 and 4b (format v2: a per-group exponent offset o_g, the
// `nearest` and `best` coefficient rules). Every operation below mirrors, in the same order and
// precision, the Java code it must equal bit for bit:
//   - decode: SeedLmCodec.decodeRule (float32: acc = U[i][0] * th_0, then acc = fma(U[i][j], th_j,
//     acc) for j = 1..P-1; th_j = q_j * 2^(o_g + e_rel), exact in float32);
//   - search: SeedLmCodec's reference per-seed rule (float64: t_j = sum_i pinv[j][i] * w_i, i
//     ascending from 0.0, plain multiply then add; e from the exact exponent rule; err = sum_i r_i^2
//     with r_i = w_i - sum_j U[i][j] * th_j, j ascending from 0.0), every seed, ties to the smaller.
// Build with contraction off (nvcc --fmad=false, g++ -ffp-contract=off), no fast-math: the only
// fused multiply-adds are the explicit fmaf calls, exactly where Java calls Math.fma.
#ifndef SEEDLM_CUH
#define SEEDLM_CUH

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define SLM_HD __host__ __device__ inline
#else
#define SLM_HD inline
#endif

#define SLM_MAX_P 16        // SeedLmParams.MAX_P
#define SLM_MIN_CODE (-8)   // 4-bit two's complement fields
#define SLM_MAX_CODE 7
#define SLM_RULE_NEAREST 0  // SPEC 4b `nearest` (version 1's rule)
#define SLM_RULE_BEST 1     // SPEC 4b `best`: e in {e0, e0 - 1}, q in {f, f + 1}^P

// ------------------------------------------------------------------------------------------------
// LFSR and tables (SPEC sections 2 and 3)

/** One update of a K-bit Fibonacci LFSR; tapmask has bit j set for every tap j. */
SLM_HD uint32_t slm_lfsr_next(uint32_t state, int k, uint32_t tapmask) {
  uint32_t x = state & tapmask, fb = 0;
  while (x) { fb ^= 1u; x &= x - 1; }
  return (state >> 1) | (fb << (k - 1));
}

/** U entry from an LFSR state: (v - 2^(K-1)) / (2^(K-1) - 1), one correctly rounded division. */
SLM_HD double slm_u(uint32_t v, int k) {
  double half = (double)(1u << (k - 1));
  return ((double)v - half) / (half - 1.0);
}

// ------------------------------------------------------------------------------------------------
// Bits (SPEC section 7: MSB first, block b at bits [b * bits, (b + 1) * bits))

/** 64 bits of the stream starting at bit pos, left-aligned; bytes past len read as 0. */
SLM_HD uint64_t slm_window(const uint8_t* buf, uint64_t len, uint64_t pos) {
  uint64_t idx = pos >> 3, w = 0;
  for (int i = 0; i < 8; i++) w = (w << 8) | (idx + i < len ? (uint64_t)buf[idx + i] : 0u);
  uint64_t next = idx + 8 < len ? (uint64_t)buf[idx + 8] : 0u;
  int sh = (int)(pos & 7);
  return sh == 0 ? w : (w << sh) | (next >> (8 - sh));
}

/** n (1..32) bits at pos as an unsigned value. */
SLM_HD uint32_t slm_field(const uint8_t* buf, uint64_t len, uint64_t pos, int n) {
  return (uint32_t)(slm_window(buf, len, pos) >> (64 - n));
}

SLM_HD int slm_signed4(uint32_t v) { return (int)((v & 15u) ^ 8u) - 8; }

/** Seed, e_rel and q[0..P) of block b; returns the seed (0 is invalid). */
SLM_HD uint32_t slm_read_block(const uint8_t* packed, uint64_t len, uint64_t b, int p, int k,
                               int* e_rel, int* q) {
  int bits = k + 4 + 4 * p;
  uint64_t pos = b * (uint64_t)bits;
  if (bits <= 64) {
    uint64_t w = slm_window(packed, len, pos);
    uint64_t f = w << k;
    *e_rel = slm_signed4((uint32_t)(f >> 60));
    for (int j = 0; j < p; j++) q[j] = slm_signed4((uint32_t)((f << (4 * (j + 1))) >> 60));
    return (uint32_t)(w >> (64 - k));
  }
  *e_rel = slm_signed4(slm_field(packed, len, pos + k, 4));
  for (int j = 0; j < p; j++) q[j] = slm_signed4(slm_field(packed, len, pos + k + 4 + 4 * j, 4));
  return slm_field(packed, len, pos, k);
}

// ------------------------------------------------------------------------------------------------
// Decode (SeedLmCodec.decodeRule)

/** th = q * 2^e in float32 (exact: |q| <= 8 and e in [-108, 107]). */
SLM_HD float slm_th(int q, int e) { return (float)ldexp((double)q, e); }

/**
 * Weight i of a block: acc = uf[i][0] * th[0]; acc = fmaf(uf[i][j], th[j], acc) for j = 1..P-1.
 * uf: the block's seed's row-major C x P float32 U (SeedBasis.uf()).
 */
SLM_HD float slm_decode_weight(const float* uf_seed, const float* th, int i, int p) {
  const float* row = uf_seed + i * p;
  float acc = row[0] * th[0];
  for (int j = 1; j < p; j++) acc = fmaf(row[j], th[j], acc);
  return acc;
}

// ------------------------------------------------------------------------------------------------
// Coefficients (SPEC sections 4 and 4b)

/**
 * E(x) = ceil(log2(x / 7.5)) computed exactly: the smallest integer e with x <= 7.5 * 2^e, for
 * finite x >= 0 (SeedLmCodec.exponent before its clamp). x = m * 2^ex, m in [0.5, 1): 7.5 * 2^(ex-3)
 * = 0.9375 * 2^ex and 7.5 * 2^(ex-4) < 0.5 * 2^ex. Zero gives a value far below -8.
 */
SLM_HD int slm_exponent_unclamped(double x) {
  if (x == 0.0) return -(1 << 20);
  int ex;
  double m = frexp(x, &ex);
  return m <= 0.9375 ? ex - 3 : ex - 2;
}

SLM_HD int slm_clamp_code(int v) {
  return v < SLM_MIN_CODE ? SLM_MIN_CODE : (v > SLM_MAX_CODE ? SLM_MAX_CODE : v);
}

SLM_HD int slm_clamp_code_d(double r) {
  return r < SLM_MIN_CODE ? SLM_MIN_CODE : (r > SLM_MAX_CODE ? SLM_MAX_CODE : (int)r);
}

/** err = sum_i (w_i - sum_j u[i][j] * th_j)^2, float64, i and j ascending, each sum from 0.0. */
SLM_HD double slm_recon_err(const double* w, const double* u_seed, const double* th, int c, int p) {
  double err = 0.0;
  for (int i = 0; i < c; i++) {
    const double* row = u_seed + i * p;
    double y = 0.0;
    for (int j = 0; j < p; j++) y += row[j] * th[j];
    double r = w[i] - y;
    err += r * r;
  }
  return err;
}

/**
 * The quantized error of one seed for block w (float64, C weights), under rule (SLM_RULE_*) with
 * group offset og; writes e_rel and q[0..P). pinv_seed: P x C (SeedBasis.pinv()), u_seed: C x P
 * (SeedBasis.u()). `best`: candidates e_rel = e0 then e0 - 1 (clamped), q over {f_j, f_j + 1}^P in
 * lexicographic order (q_1 most significant); a candidate replaces the best so far only with a
 * strictly smaller error, which gives SPEC 4b's tie order (larger e_rel, then smallest q).
 */
SLM_HD double slm_score_seed(const double* w, const double* pinv_seed, const double* u_seed, int c,
                             int p, int og, int rule, int* e_rel_out, int* q_out) {
  double t[SLM_MAX_P], th[SLM_MAX_P];
  double mx = 0.0;
  for (int j = 0; j < p; j++) {
    const double* row = pinv_seed + j * c;
    double acc = 0.0;
    for (int i = 0; i < c; i++) acc += row[i] * w[i];
    t[j] = acc;
    double a = fabs(acc);
    if (a > mx) mx = a;
  }
  int e0 = slm_clamp_code(slm_exponent_unclamped(mx) - og);
  if (rule == SLM_RULE_NEAREST) {
    int e = og + e0;
    for (int j = 0; j < p; j++) {
      int qj = slm_clamp_code_d(rint(ldexp(t[j], -e)));
      q_out[j] = qj;
      th[j] = ldexp((double)qj, e);
    }
    *e_rel_out = e0;
    return slm_recon_err(w, u_seed, th, c, p);
  }
  double best = INFINITY;
  double f[SLM_MAX_P];
  int qc[SLM_MAX_P];
  for (int cand = 0; cand < 2; cand++) {
    int er = slm_clamp_code(e0 - cand);
    if (cand == 1 && er == e0) break;  // the same candidates again: none can be strictly smaller
    int e = og + er;
    for (int j = 0; j < p; j++) f[j] = floor(ldexp(t[j], -e));
    for (uint32_t m = 0; m < (1u << p); m++) {
      for (int j = 0; j < p; j++) {
        qc[j] = slm_clamp_code_d(f[j] + (double)((m >> (p - 1 - j)) & 1u));
        th[j] = ldexp((double)qc[j], e);
      }
      double err = slm_recon_err(w, u_seed, th, c, p);
      if (err < best) {
        best = err;
        *e_rel_out = er;
        for (int j = 0; j < p; j++) q_out[j] = qc[j];
      }
    }
  }
  return best;
}

/**
 * Seeds first, first + step, ... <= last, scored in increasing order into (best_err, best_seed):
 * a seed replaces the best only with a strictly smaller error (ties to the smaller seed).
 */
SLM_HD void slm_search_seeds(const double* w, const double* pinv, const double* u, int c, int p,
                             int og, int rule, uint32_t first, uint32_t last, uint32_t step,
                             double* best_err, uint32_t* best_seed) {
  int e_rel, q[SLM_MAX_P];
  uint32_t cp = (uint32_t)(c * p);
  for (uint32_t s = first; s <= last; s += step) {
    double err = slm_score_seed(w, pinv + (uint64_t)s * cp, u + (uint64_t)s * cp, c, p, og, rule,
                                &e_rel, q);
    if (err < *best_err || (err == *best_err && s < *best_seed)) {
      *best_err = err;
      *best_seed = s;
    }
  }
}

/** (err, seed) pairs: whether a is the better one (smaller error, then smaller seed). */
SLM_HD bool slm_better(double ea, uint32_t sa, double eb, uint32_t sb) {
  return ea < eb || (ea == eb && sa < sb);
}

/** Group offset of block b: offsets[b / G] (signed byte), 0 without offsets (version 1). */
SLM_HD int slm_offset(const int8_t* offsets, int g, uint64_t b) {
  return offsets ? (int)offsets[b / (uint64_t)g] : 0;
}

#endif  // SEEDLM_CUH
