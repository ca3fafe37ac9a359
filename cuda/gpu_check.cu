// GPU check (deploy/gpu-check): the kernels of seedlm_kernels.cu on the device against the
// Java-written vectors (vectors.h), then timings. No Java needed on the GPU machine.
//   gpu_check VECTORS    exit 0 when every case matches bit for bit, 1 otherwise
// Prints one line per case and a table: decode GB/s of float32 output against cudaMemcpy
// device-to-device GB/s (bytes copied / s) measured in the same run, and search blocks/s.
#include <cuda_runtime.h>
#include <chrono>
#include <random>
#include "seedlm_kernels.cu"
#include "vectors.h"

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
  fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorName(e_), __FILE__, __LINE__, cudaGetErrorString(e_)); exit(3); } } while (0)

template <class T> static T* up(const std::vector<T>& v) {
  T* d = nullptr;
  CK(cudaMalloc(&d, v.size() * sizeof(T) + 16));
  if (!v.empty()) CK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

struct DevTable { double *pinv, *u; float* uf; };
static const int SEARCH_THREADS = 256;

static void decodeOn(const SlmTable& t, const DevTable& dt, const uint8_t* dpacked, size_t len, long long numel,
                     const int8_t* doff, int g, float* dout, unsigned long long* dbad) {
  int threads = 256;
  long long want = (numel + threads - 1) / threads;
  int grid = (int)(want < 1 << 20 ? (want < 1 ? 1 : want) : 1 << 20);
  slm_decode<<<grid, threads>>>(dpacked, len, numel, t.c, t.p, t.k, dt.uf, doff, g, dout, dbad);
  CK(cudaGetLastError());
}

static void searchOn(const SlmTable& t, const DevTable& dt, const float* dw, int n, const int8_t* doff, int g,
                     int rule, int* ds, int* de, int* dq, double* derr) {
  size_t shmem = (size_t)t.c * 8 + SEARCH_THREADS * 12;
  int grid = n < 65535 ? n : 65535;
  slm_search<<<grid, SEARCH_THREADS, shmem>>>(dw, n, t.c, t.p, t.k, dt.pinv, dt.u, doff, g, rule, ds, de, dq, derr);
  CK(cudaGetLastError());
}

static double seconds(cudaEvent_t a, cudaEvent_t b) { float ms; CK(cudaEventElapsedTime(&ms, a, b)); return ms / 1e3; }

int main(int argc, char** argv) {
  if (argc != 2) { fprintf(stderr, "usage: gpu_check VECTORS\n"); return 2; }
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  printf("device: %s (sm_%d%d, %.0f GiB)\n", prop.name, prop.major, prop.minor, prop.totalGlobalMem / 1073741824.0);
  SlmVectors v = slm_read_vectors(argv[1]);
  std::vector<DevTable> dts;
  for (const SlmTable& t : v.tables) dts.push_back({up(t.pinv), up(t.u), up(t.uf)});
  long long total = 0;
  unsigned long long* dbad;
  CK(cudaMalloc(&dbad, 8));
  for (const SlmDecodeCase& d : v.decode) {
    const SlmTable& t = v.tables[d.table];
    uint8_t* dp = up(d.packed);
    int8_t* doff = d.offsets.empty() ? nullptr : up(d.offsets);
    float* dout;
    CK(cudaMalloc(&dout, d.numel * 4 + 4));
    unsigned long long init = ~0ull, bad;
    CK(cudaMemcpy(dbad, &init, 8, cudaMemcpyHostToDevice));
    decodeOn(t, dts[d.table], dp, d.packed.size(), d.numel, doff, d.g, dout, dbad);
    std::vector<float> got(d.numel);
    CK(cudaMemcpy(got.data(), dout, d.numel * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(&bad, dbad, 8, cudaMemcpyDeviceToHost));
    long long mm = slm_count_decode(d, got.data()) + (bad != ~0ull);
    total += mm;
    printf("decode %-28s C=%-2d P=%d K=%-2d weights=%-9lld mismatches=%lld\n", d.name.c_str(), t.c, t.p, t.k, d.numel, mm);
    CK(cudaFree(dp)); CK(cudaFree(dout)); if (doff) CK(cudaFree(doff));
  }
  for (const SlmSearchCase& s : v.search) {
    const SlmTable& t = v.tables[s.table];
    float* dw = up(s.w);
    int8_t* doff = s.offsets.empty() ? nullptr : up(s.offsets);
    int *ds, *de, *dq; double* derr;
    CK(cudaMalloc(&ds, s.nblocks * 4)); CK(cudaMalloc(&de, s.nblocks * 4));
    CK(cudaMalloc(&dq, (size_t)s.nblocks * t.p * 4)); CK(cudaMalloc(&derr, s.nblocks * 8));
    searchOn(t, dts[s.table], dw, s.nblocks, doff, s.g, s.rule, ds, de, dq, derr);
    std::vector<int> seed(s.nblocks), e(s.nblocks), q((size_t)s.nblocks * t.p);
    std::vector<double> err(s.nblocks);
    CK(cudaMemcpy(seed.data(), ds, s.nblocks * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(e.data(), de, s.nblocks * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(q.data(), dq, q.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(err.data(), derr, s.nblocks * 8, cudaMemcpyDeviceToHost));
    long long mm = slm_count_search(s, t.p, seed.data(), e.data(), q.data(), err.data());
    total += mm;
    printf("search %-28s C=%-2d P=%d K=%-2d blocks=%-6d rule=%s mismatches=%lld\n", s.name.c_str(), t.c, t.p, t.k,
           s.nblocks, s.rule == SLM_RULE_BEST ? "best" : "nearest", mm);
    CK(cudaFree(dw)); CK(cudaFree(ds)); CK(cudaFree(de)); CK(cudaFree(dq)); CK(cudaFree(derr));
    if (doff) CK(cudaFree(doff));
  }
  printf("total mismatches: %lld\n\n", total);

  // Timings on random data (the same kernels; correctness is the part above).
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b));
  std::mt19937_64 rng(1);
  printf("%-34s %14s %12s %10s\n", "timing", "per second", "GB/s", "vs copy");
  long long numel = 1LL << 28;  // 256 Mi weights: 1 GiB of float32 output
  float *dout, *dcopy;
  CK(cudaMalloc(&dout, numel * 4)); CK(cudaMalloc(&dcopy, numel * 4));
  CK(cudaMemset(dout, 0, numel * 4));
  for (int rep = 0; rep < 2; rep++) CK(cudaMemcpy(dcopy, dout, numel * 4, cudaMemcpyDeviceToDevice));
  CK(cudaEventRecord(a));
  for (int rep = 0; rep < 5; rep++) CK(cudaMemcpy(dcopy, dout, numel * 4, cudaMemcpyDeviceToDevice));
  CK(cudaEventRecord(b)); CK(cudaEventSynchronize(b));
  double copyGBs = 5.0 * numel * 4 / seconds(a, b) / 1e9;
  printf("%-34s %14s %12.1f %10s\n", "cudaMemcpy D2D (bytes copied)", "", copyGBs, "1.00");
  for (size_t ti = 0; ti < v.tables.size(); ti++) {
    const SlmTable& t = v.tables[ti];
    if (t.k != 16 || !((t.c == 8 && t.p == 3) || (t.c == 12 && t.p == 4))) continue;
    long long n = numel - numel % t.c, blocks = n / t.c;
    size_t len = (size_t)((blocks * (t.k + 4 + 4 * t.p) + 7) / 8);
    std::vector<uint8_t> packed(len);
    for (auto& x : packed) x = (uint8_t)rng();
    for (long long bb = 0; bb < blocks; bb++) {  // seeds nonzero: the MSB of each seed field set
      uint64_t pos = bb * (uint64_t)(t.k + 4 + 4 * t.p);
      packed[pos >> 3] |= (uint8_t)(0x80u >> (pos & 7));
    }
    std::vector<int8_t> off((blocks + 4095) / 4096);
    for (auto& x : off) x = (int8_t)((int)(rng() % 21) - 16);
    uint8_t* dp = up(packed);
    int8_t* doff = up(off);
    for (int withOff = 0; withOff < 2; withOff++) {
      decodeOn(t, dts[ti], dp, len, n, withOff ? doff : nullptr, 4096, dout, dbad);
      CK(cudaEventRecord(a));
      for (int rep = 0; rep < 5; rep++) decodeOn(t, dts[ti], dp, len, n, withOff ? doff : nullptr, 4096, dout, dbad);
      CK(cudaEventRecord(b)); CK(cudaEventSynchronize(b));
      double sec = seconds(a, b) / 5, gbs = n * 4.0 / sec / 1e9;
      char name[64];
      snprintf(name, sizeof name, "decode C=%d P=%d %s (f32 out)", t.c, t.p, withOff ? "v2" : "v1");
      printf("%-34s %11.3g w/s %12.1f %10.2f\n", name, n / sec, gbs, gbs / copyGBs);
    }
    CK(cudaFree(dp)); CK(cudaFree(doff));
    for (int rule = 0; rule < 2; rule++) {
      int nb = rule == SLM_RULE_NEAREST ? 65535 * 2 : 8192;
      std::vector<float> w((size_t)nb * t.c);
      std::normal_distribution<float> nd(0.0f, 0.02f);
      for (auto& x : w) x = nd(rng);
      float* dw = up(w);
      int *ds, *de, *dq; double* derr;
      CK(cudaMalloc(&ds, nb * 4)); CK(cudaMalloc(&de, nb * 4)); CK(cudaMalloc(&dq, (size_t)nb * t.p * 4));
      CK(cudaMalloc(&derr, nb * 8));
      searchOn(t, dts[ti], dw, 1024, nullptr, 1, rule, ds, de, dq, derr);  // warm-up
      CK(cudaEventRecord(a));
      searchOn(t, dts[ti], dw, nb, nullptr, 1, rule, ds, de, dq, derr);
      CK(cudaEventRecord(b)); CK(cudaEventSynchronize(b));
      char name[64];
      snprintf(name, sizeof name, "search C=%d P=%d K=16 %s", t.c, t.p, rule ? "best" : "nearest");
      printf("%-34s %9.3g blk/s %12s %10s\n", name, nb / seconds(a, b), "", "");
      CK(cudaFree(dw)); CK(cudaFree(ds)); CK(cudaFree(de)); CK(cudaFree(dq)); CK(cudaFree(derr));
    }
  }
  return total == 0 ? 0 : 1;
}
