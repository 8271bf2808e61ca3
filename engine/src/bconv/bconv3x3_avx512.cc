// Binary 3x3 conv, x86-64 AVX-512F + VPOPCNTDQ (compiled with -mavx512f -mavx512vpopcntdq).
//
// Data layout: output channels in the 8 u64 lanes of a zmm (weights in lane8 layout, one load
// per weight word for 8 channels); the activation word is broadcast to all lanes. For one group
// of 8 channels and P = 8 neighbouring pixels, the P accumulators (registers: the pixel loops
// are unrolled) share every weight load:
//
//   acc[p] += popcnt(W[g][k] ^ broadcast(A_p[k]))      k over 3 rows x (3 * words) contiguous words
//
// A pixel's 3x3 neighbourhood in a PackedMap row is 3 * words contiguous words starting at
// at(y + kh - 1, x - 1), so the k loop is three linear scans. Per 8 channels x 64 inputs the
// inner step is one XOR, one VPOPCNTQ, one add: 512 binary MACs.
#include <immintrin.h>

#include "bconv/kernel.h"

namespace scales::bconv {

namespace {

template <int P>
inline void pixels_avx512(const PackedMap& a, const BconvWeights& w, int y, int x, int32_t* out) {
  const int words = a.words, row_words = 3 * words, kw = w.k_words();
  const uint64_t* rows[3] = {a.at(y - 1, x - 1), a.at(y, x - 1), a.at(y + 1, x - 1)};
  const __m512i kbits = _mm512_set1_epi64(w.k_bits());
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<size_t>(g) * kw * 8;
    __m512i acc[P];
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) acc[p] = _mm512_setzero_si512();
    for (int kh = 0; kh < 3; ++kh) {
      const uint64_t* r = rows[kh];
      const uint64_t* wk = wg + static_cast<size_t>(kh) * row_words * 8;
      for (int j = 0; j < row_words; ++j) {
        const __m512i wv = _mm512_loadu_si512(wk + static_cast<size_t>(j) * 8);
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) {
          const __m512i av = _mm512_set1_epi64(static_cast<long long>(r[p * words + j]));
          acc[p] = _mm512_add_epi64(acc[p], _mm512_popcnt_epi64(_mm512_xor_si512(wv, av)));
        }
      }
    }
    const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    const __mmask8 m = static_cast<__mmask8>((1u << n) - 1);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      const __m512i v = _mm512_sub_epi64(kbits, _mm512_slli_epi64(acc[p], 1));  // K - 2 * popcount
      _mm256_mask_storeu_epi32(out + static_cast<size_t>(p) * w.c_out + 8 * g, m, _mm512_cvtepi64_epi32(v));
    }
  }
}

}  // namespace

void bconv3x3_row_avx512(const PackedMap& a, const BconvWeights& w, int y, int32_t* out) {
  constexpr int P = 8;
  int x = 0;
  for (; x + P <= a.width; x += P) pixels_avx512<P>(a, w, y, x, out + static_cast<size_t>(x) * w.c_out);
  for (; x < a.width; ++x) pixels_avx512<1>(a, w, y, x, out + static_cast<size_t>(x) * w.c_out);
}

}  // namespace scales::bconv
