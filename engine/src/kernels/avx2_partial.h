// Loads and stores of the first k (1..8) lanes of an AVX2 register, for the tails of rows whose
// length is not a multiple of 8 (x86-64, included only by translation units built with -mavx2).
// Whole registers take plain loads and stores. A tail's loads are VMASKMOVPS / VPMASKMOVD (zeros
// past k); its store goes out in 4-, 2- and 1-lane pieces instead of a masked store, which is
// slow on some x86 cores (microcoded on AMD's Jaguar). On the Zen 5 of docs/benchmarks.md the
// gain was small: the binary linear's repeat epilogue went from 7.1% to 6.3% of a paper-size
// SwinIR x2 pass's samples on AVX2.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace scales::kernels {

// Lanes [0, k) set (k in 0..8), as a load mask.
inline __m256i avx2_lanes_below(int k) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline __m256 load_first(const float* p, int k) {
  return k >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, avx2_lanes_below(k));
}

inline __m256i load_first(const int32_t* p, int k) {
  return k >= 8 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
                : _mm256_maskload_epi32(reinterpret_cast<const int*>(p), avx2_lanes_below(k));
}

inline void store_first(float* p, __m256 v, int k) {
  if (k >= 8) return _mm256_storeu_ps(p, v);
  __m128 q = _mm256_castps256_ps128(v);
  if (k >= 4) {
    _mm_storeu_ps(p, q);
    q = _mm256_extractf128_ps(v, 1);
    p += 4;
    k -= 4;
  }
  if (k >= 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(p), q);
    q = _mm_movehl_ps(q, q);
    p += 2;
    k -= 2;
  }
  if (k == 1) _mm_store_ss(p, q);
}

}  // namespace scales::kernels
