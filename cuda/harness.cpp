// Host harness: runs the kernels' arithmetic (seedlm.cuh) on the CPU over the Java-written vectors,
// writes what it computed and prints one line per case with its mismatches against the Java results.
//   harness VECTORS OUT     exit 0 when every case matches, 1 otherwise, 2 on a bad file
// OUT (little-endian): per decode case float[numel]; per search case int seed[n], int e[n],
// int q[n*P], double err[n], in file order. Build: deploy/build-cuda harness (g++ or nvcc, no FMA
// contraction, no fast-math).
#include "vectors.h"

int main(int argc, char** argv) {
  if (argc != 3) { fprintf(stderr, "usage: harness VECTORS OUT\n"); return 2; }
  SlmVectors v = slm_read_vectors(argv[1]);
  FILE* out = fopen(argv[2], "wb");
  if (!out) slmio::die("cannot open the output file");
  long long total = 0;
  for (const SlmDecodeCase& d : v.decode) {
    const SlmTable& t = v.tables[d.table];
    std::vector<float> got(d.numel, 0.0f);
    long long badSeed = -1;
    for (long long b = 0; b < d.blocks; b++) {
      int e_rel, q[SLM_MAX_P];
      uint32_t seed = slm_read_block(d.packed.data(), d.packed.size(), b, t.p, t.k, &e_rel, q);
      if (seed == 0) { if (badSeed < 0) badSeed = b; continue; }
      int e = slm_offset(slm_offsets_or_null(d.offsets), d.g, b) + e_rel;
      float th[SLM_MAX_P];
      for (int j = 0; j < t.p; j++) th[j] = slm_th(q[j], e);
      for (int i = 0; i < t.c && b * t.c + i < d.numel; i++)
        got[b * t.c + i] = slm_decode_weight(t.uf.data() + (size_t)seed * t.c * t.p, th, i, t.p);
    }
    long long bad = slm_count_decode(d, got.data()) + (badSeed >= 0);
    total += bad;
    printf("decode %-28s C=%-2d P=%d K=%-2d weights=%-9lld mismatches=%lld\n", d.name.c_str(), t.c, t.p,
           t.k, d.numel, bad);
    slmio::wr(out, got.data(), got.size() * 4);
  }
  for (const SlmSearchCase& s : v.search) {
    const SlmTable& t = v.tables[s.table];
    std::vector<int> seed(s.nblocks), e(s.nblocks), q((size_t)s.nblocks * t.p);
    std::vector<double> err(s.nblocks);
    std::vector<double> wb(t.c);
    for (int b = 0; b < s.nblocks; b++) {
      for (int i = 0; i < t.c; i++) wb[i] = (double)s.w[(size_t)b * t.c + i];
      int og = slm_offset(slm_offsets_or_null(s.offsets), s.g, b);
      double best = INFINITY;
      uint32_t bs = 0xffffffffu;
      slm_search_seeds(wb.data(), t.pinv.data(), t.u.data(), t.c, t.p, og, s.rule, 1, (1u << t.k) - 1, 1,
                       &best, &bs);
      size_t cp = (size_t)t.c * t.p;
      err[b] = slm_score_seed(wb.data(), t.pinv.data() + bs * cp, t.u.data() + bs * cp, t.c, t.p, og,
                              s.rule, &e[b], &q[(size_t)b * t.p]);
      seed[b] = (int)bs;
    }
    long long bad = slm_count_search(s, t.p, seed.data(), e.data(), q.data(), err.data());
    total += bad;
    printf("search %-28s C=%-2d P=%d K=%-2d blocks=%-6d rule=%s mismatches=%lld\n", s.name.c_str(), t.c,
           t.p, t.k, s.nblocks, s.rule == SLM_RULE_BEST ? "best" : "nearest", bad);
    slmio::wr(out, seed.data(), seed.size() * 4);
    slmio::wr(out, e.data(), e.size() * 4);
    slmio::wr(out, q.data(), q.size() * 4);
    slmio::wr(out, err.data(), err.size() * 8);
  }
  fclose(out);
  printf("total mismatches: %lld\n", total);
  return total == 0 ? 0 : 1;
}
