// Sign-bit packing of rows (tokens of the binary linear), x86-64 AVX2: compare and movemask give 8
// channels' bits, eight make a word; a word's last partial group goes through the scalar test.
// Must equal pack_signs_ref (pack_signs_ref.cc) bit for bit, including sign(-0) = +1 and NaN -> +1.
#include <immintrin.h>

#include <cstddef>

#include "bgemm/bgemm.h"

namespace scales::bgemm {

namespace {

template <bool kShift>
void pack_rows(const float* x, int rows, int channels, const float* shift, uint64_t* out) {
  const int words = (channels + 63) / 64;
  const __m256 zero = _mm256_setzero_ps();
  for (int t = 0; t < rows; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * channels;
    uint64_t* o = out + static_cast<std::size_t>(t) * words;
    for (int w = 0; w < words; ++w) {
      const int c0 = 64 * w, n = channels - c0 < 64 ? channels - c0 : 64;
      uint64_t bits = 0;
      int j = 0;
      for (; j + 8 <= n; j += 8) {
        __m256 u = _mm256_loadu_ps(xt + c0 + j);
        if constexpr (kShift) u = _mm256_add_ps(u, _mm256_loadu_ps(shift + c0 + j));
        const int m = _mm256_movemask_ps(_mm256_cmp_ps(u, zero, _CMP_LT_OQ));
        bits |= static_cast<uint64_t>(static_cast<unsigned>(m)) << j;
      }
      for (; j < n; ++j) {
        const float u = kShift ? xt[c0 + j] + shift[c0 + j] : xt[c0 + j];
        bits |= static_cast<uint64_t>(u < 0.0f) << j;
      }
      o[w] = bits;
    }
  }
}

}  // namespace

void pack_signs_avx2(const float* x, int rows, int channels, const float* shift, uint64_t* out) {
  if (shift)
    pack_rows<true>(x, rows, channels, shift, out);
  else
    pack_rows<false>(x, rows, channels, nullptr, out);
}

}  // namespace scales::bgemm
