// Test vectors written by the Java side (org.seedlm.pipeline.gpu.KernelVectors, format in its
// Javadoc), read by the host harness (harness.cpp) and the GPU check (gpu_check.cu). Little-endian.
#ifndef SEEDLM_VECTORS_H
#define SEEDLM_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <vector>
#include "seedlm.cuh"

struct SlmTable {       // one SeedLM config's float64 tables; slot 0 (seed 0) unused
  int c, p, k;
  uint32_t tapmask;
  std::vector<double> pinv;  // (2^K, P, C) from Java (SeedBasis.pinv())
  std::vector<double> u;     // (2^K, C, P) built here from the LFSR (slm_u)
  std::vector<float> uf;     // (2^K, C, P) (float) u
};

struct SlmDecodeCase {
  std::string name;
  int table, g;
  long long numel, blocks;
  std::vector<int8_t> offsets;   // (ceil(blocks / G),), empty: version 1
  std::vector<uint8_t> packed;
  std::vector<float> expected;   // (numel,) SeedLmDecoder's output
};

struct SlmSearchCase {
  std::string name;
  int table, rule, g, nblocks;
  std::vector<int8_t> offsets;
  std::vector<float> w;          // (nblocks, C)
  std::vector<int> seed, e, q;   // expected (nblocks,), (nblocks,), (nblocks, P)
  std::vector<double> err;       // expected (nblocks,)
};

struct SlmVectors {
  std::vector<SlmTable> tables;
  std::vector<SlmDecodeCase> decode;
  std::vector<SlmSearchCase> search;
};

namespace slmio {
inline void die(const char* what) { fprintf(stderr, "vectors: %s\n", what); exit(2); }
inline void rd(FILE* f, void* dst, size_t n) { if (n && fread(dst, 1, n, f) != n) die("truncated file"); }
inline int i32(FILE* f) { int32_t v; rd(f, &v, 4); return v; }
inline long long i64(FILE* f) { int64_t v; rd(f, &v, 8); return v; }
inline std::string str(FILE* f) { int n = i32(f); std::string s(n, ' '); rd(f, &s[0], n); return s; }
template <class T> inline void arr(FILE* f, std::vector<T>& v, size_t n) { v.resize(n); rd(f, v.data(), n * sizeof(T)); }
inline void wr(FILE* f, const void* src, size_t n) { if (n && fwrite(src, 1, n, f) != n) die("write failed"); }
}  // namespace slmio

/** U and uf of a table from its LFSR: V[s][i][j] = the state after i*P + j + 1 updates from s. */
inline void slm_build_u(SlmTable& t) {
  size_t cp = (size_t)t.c * t.p, slots = (size_t)1 << t.k;
  t.u.assign(slots * cp, 0.0);
  t.uf.assign(slots * cp, 0.0f);
  for (uint32_t s = 1; s < slots; s++) {
    uint32_t st = s;
    for (size_t e = 0; e < cp; e++) {
      st = slm_lfsr_next(st, t.k, t.tapmask);
      t.u[s * cp + e] = slm_u(st, t.k);
      t.uf[s * cp + e] = (float)t.u[s * cp + e];
    }
  }
}

inline SlmVectors slm_read_vectors(const char* path) {
  using namespace slmio;
  FILE* f = fopen(path, "rb");
  if (!f) die("cannot open the vector file");
  char magic[8];
  rd(f, magic, 8);
  if (memcmp(magic, "SLMVEC01", 8) != 0) die("not a SLMVEC01 file");
  SlmVectors v;
  v.tables.resize(i32(f));
  for (SlmTable& t : v.tables) {
    t.c = i32(f); t.p = i32(f); t.k = i32(f); t.tapmask = (uint32_t)i32(f);
    arr(f, t.pinv, ((size_t)1 << t.k) * t.c * t.p);
    slm_build_u(t);
  }
  v.decode.resize(i32(f));
  for (SlmDecodeCase& d : v.decode) {
    d.name = str(f); d.table = i32(f); d.g = i32(f); d.numel = i64(f); d.blocks = i64(f);
    arr(f, d.offsets, (size_t)i32(f));
    arr(f, d.packed, (size_t)i64(f));
    arr(f, d.expected, (size_t)d.numel);
  }
  v.search.resize(i32(f));
  for (SlmSearchCase& s : v.search) {
    s.name = str(f); s.table = i32(f); s.rule = i32(f); s.g = i32(f); s.nblocks = i32(f);
    arr(f, s.offsets, (size_t)i32(f));
    int c = v.tables[s.table].c, p = v.tables[s.table].p;
    arr(f, s.w, (size_t)s.nblocks * c);
    arr(f, s.seed, s.nblocks); arr(f, s.e, s.nblocks); arr(f, s.q, (size_t)s.nblocks * p);
    arr(f, s.err, s.nblocks);
  }
  fclose(f);
  return v;
}

inline const int8_t* slm_offsets_or_null(const std::vector<int8_t>& o) { return o.empty() ? nullptr : o.data(); }

/** Mismatches of a decode output against the case's expected floats (bitwise). */
inline long long slm_count_decode(const SlmDecodeCase& d, const float* got) {
  long long bad = 0;
  for (long long x = 0; x < d.numel; x++) bad += memcmp(&got[x], &d.expected[x], 4) != 0;
  return bad;
}

/** Blocks whose seed, e, q or error (bitwise) differ from the case's expected ones. */
inline long long slm_count_search(const SlmSearchCase& s, int p, const int* seed, const int* e,
                                  const int* q, const double* err) {
  long long bad = 0;
  for (int b = 0; b < s.nblocks; b++) {
    bool ok = seed[b] == s.seed[b] && e[b] == s.e[b] && memcmp(&err[b], &s.err[b], 8) == 0;
    for (int j = 0; j < p; j++) ok = ok && q[(size_t)b * p + j] == s.q[(size_t)b * p + j];
    if (!ok && bad < 3)
      fprintf(stderr, "  %s block %d: got seed %d e %d err %.17g, expected seed %d e %d err %.17g\n",
              s.name.c_str(), b, seed[b], e[b], err[b], s.seed[b], s.e[b], s.err[b]);
    bad += !ok;
  }
  return bad;
}

#endif  // SEEDLM_VECTORS_H
