/*
 * dot_floor: the fused SeedLM 4-bit matrix-vector kernel written in C with AVX2 intrinsics, as a measure of what
 * the hardware allows (is the Java kernel, SeedLmDecoder.dotRows, held back by the JVM?). Same work per block as the
 * Java kernel: one 32-bit big-endian word (seed, exponent, three coefficients), the seed's cycle position from a
 * 128 KiB table, the three column starts by integer arithmetic, three 8-float loads of U(s) columns from the
 * 256 KiB decimated cycle table, U_0 th_0 then two FMAs, one FMA with x; four rows at a time. Same tables as the
 * Java decoder, built here from the LFSR of SPEC section 2 (K = 16, taps 0 1 3 12). Also a float32 matrix-vector
 * over the decoded matrix, four rows at a time, for comparison.
 *
 *   mkdir -p target && gcc -O3 -mavx2 -mfma -o target/dot_floor deploy/bench/dot_floor.c -lm && target/dot_floor [out in [reps [seeds]]]
 *
 * Prints ns per block (8 weights) of each, the best of reps passes, one thread, and the largest deviation of the
 * fused result from a float64 dot product over the same decoded weights, in units of the float32 bound
 * gamma(in) sum |x_i w_i|. seeds (default 65535, all of them) draws the blocks' seeds from 1 .. seeds only: with
 * a few hundred, the parts of the tables the kernel reads stay in L1, which leaves the cost of its instructions.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 65535 /* 2^16 - 1 states in the cycle */
#define LEN (N + 24 + 3 + 1) /* the cycle, then enough of its start again for every window */
#define L (LEN / 3) /* floats per decimation */
#define M (3 * L - 1)

static uint16_t cycle_pos[1 << 16]; /* 1 + the position of each seed in the cycle */
static float cols[3 * L]; /* cols[r L + i] = u(cycle[(r + 3 i) mod N]) */
static float q_times_pow2[256]; /* [e << 4 | q] = q 2^e, 4-bit two's complement fields */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int next_state(int s) {
  int fb = (s ^ (s >> 1) ^ (s >> 3) ^ (s >> 12)) & 1;
  return (s >> 1) | (fb << 15);
}

static void build_tables(void) {
  static int x[LEN];
  x[0] = 1;
  for (int m = 1; m < LEN; m++) x[m] = next_state(x[m - 1]);
  for (int m = 0; m < N; m++) cycle_pos[x[m]] = (uint16_t)(m + 1);
  for (int r = 0; r < 3; r++)
    for (int i = 0; i < L; i++) cols[r * L + i] = (float)(x[r + 3 * i] - 32768) / 32767.0f;
  for (int i = 0; i < 256; i++) {
    int q = i & 15, e = i >> 4;
    q_times_pow2[i] = ldexpf((float)(q > 7 ? q - 16 : q), e > 7 ? e - 16 : e);
  }
}

/* column starts of U(s) for the word's seed, as SeedLmDecoder.columnStarts computes them */
static inline void column_starts(uint32_t w, int *c0, int *c1, int *c2) {
  int t = cycle_pos[w >> 16];
  int q = (int)(((unsigned)t * 43691u) >> 17);
  int a = t * L - q * M, b = a + L - M, c = a + 2 * L - M;
  *c0 = a;
  *c1 = b + ((b >> 31) & M);
  *c2 = c + ((c >> 31) & M);
}

static inline __m256 block_weights(uint32_t w) {
  int c0, c1, c2;
  column_starts(w, &c0, &c1, &c2);
  int eb = (w >> 8) & 0xF0;
  __m256 u = _mm256_mul_ps(_mm256_loadu_ps(cols + c0), _mm256_broadcast_ss(q_times_pow2 + ((w >> 8) & 0xFF)));
  u = _mm256_fmadd_ps(_mm256_loadu_ps(cols + c1), _mm256_broadcast_ss(q_times_pow2 + (eb | ((w >> 4) & 15))), u);
  return _mm256_fmadd_ps(_mm256_loadu_ps(cols + c2), _mm256_broadcast_ss(q_times_pow2 + (eb | (w & 15))), u);
}

static float hsum(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  float s = 0;
  for (int i = 0; i < 8; i++) s += t[i];
  return s;
}

/* four rows of nb blocks from packed big-endian words */
static void dot4(const uint32_t *be, int nb, const float *x, float *y) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int b = 0; b < nb; b++) {
    __m256 xv = _mm256_loadu_ps(x + 8 * b);
    a0 = _mm256_fmadd_ps(xv, block_weights(__builtin_bswap32(be[b])), a0);
    a1 = _mm256_fmadd_ps(xv, block_weights(__builtin_bswap32(be[nb + b])), a1);
    a2 = _mm256_fmadd_ps(xv, block_weights(__builtin_bswap32(be[2 * nb + b])), a2);
    a3 = _mm256_fmadd_ps(xv, block_weights(__builtin_bswap32(be[3 * nb + b])), a3);
  }
  y[0] = hsum(a0), y[1] = hsum(a1), y[2] = hsum(a2), y[3] = hsum(a3);
}

static void f32_4(const float *w, int in, const float *x, float *y) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int i = 0; i < in; i += 8) {
    __m256 xv = _mm256_loadu_ps(x + i);
    a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + i), a0);
    a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + in + i), a1);
    a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 2 * in + i), a2);
    a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 3 * in + i), a3);
  }
  y[0] = hsum(a0), y[1] = hsum(a1), y[2] = hsum(a2), y[3] = hsum(a3);
}

int main(int argc, char **argv) {
  int out = argc > 1 ? atoi(argv[1]) : 5632, in = argc > 2 ? atoi(argv[2]) : 2048;
  int reps = argc > 3 ? atoi(argv[3]) : 30, seeds = argc > 4 ? atoi(argv[4]) : N;
  if (out <= 0 || in <= 0 || out % 4 || in % 8 || reps < 1 || seeds < 1 || seeds > N) {
    fprintf(stderr, "dot_floor: out must be a positive multiple of 4, in of 8, reps >= 1, seeds in 1..%d\n", N);
    return 2;
  }
  int nb = in / 8;
  long blocks = (long)out * nb;
  build_tables();
  uint32_t *be = malloc(blocks * 4);
  float *w = malloc(blocks * 8 * sizeof(float)), *x = malloc(in * sizeof(float));
  float *y = malloc(out * sizeof(float)), *yf = malloc(out * sizeof(float));
  srand(1);
  for (long i = 0; i < blocks; i++) {
    uint32_t v = ((uint32_t)rand() << 16) ^ (uint32_t)rand();
    v = (uint32_t)(1 + (v >> 16) % seeds) << 16 | (v & 0xFFFF); /* seeds 1 .. seeds: 0 is not a seed */
    be[i] = __builtin_bswap32(v);
    _mm256_storeu_ps(w + 8 * i, block_weights(v));
  }
  for (int i = 0; i < in; i++) x[i] = cosf(0.37f * i);
  double best = 1e30, bestf = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    for (int o = 0; o < out; o += 4) dot4(be + (long)o * nb, nb, x, y + o);
    double t1 = now();
    for (int o = 0; o < out; o += 4) f32_4(w + (long)o * in, in, x, yf + o);
    double t2 = now();
    if (t1 - t0 < best) best = t1 - t0;
    if (t2 - t1 < bestf) bestf = t2 - t1;
  }
  double worst = 0, gamma = in * 0x1p-24 / (1 - in * 0x1p-24);
  for (int o = 0; o < out; o++) {
    double s = 0, a = 0;
    for (int i = 0; i < in; i++) s += (double)x[i] * w[(long)o * in + i], a += fabs((double)x[i] * w[(long)o * in + i]);
    double dev = fabs(y[o] - s) / (gamma * a);
    if (dev > worst) worst = dev;
  }
  printf("dot_floor: [%d, %d] SeedLM 4-bit, %ld blocks, seeds 1..%d, 1 thread, best of %d\n", out, in, blocks, seeds,
         reps);
  printf("fused (C, AVX2)    %.2f ns/block\nfloat32 (C, AVX2)  %.2f ns/block\n", best * 1e9 / blocks,
         bestf * 1e9 / blocks);
  printf("largest |fused - float64| / (gamma(in) sum |x w|): %.3f (at most 1)\n", worst);
  return worst <= 1 ? 0 : 1;
}
