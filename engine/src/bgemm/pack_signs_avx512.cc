// Sign-bit packing of rows (tokens of the binary linear), x86-64 AVX-512F: one compare-to-mask gives
// 16 channels' bits, four make a word. Must equal pack_signs_ref (pack_signs_ref.cc) bit for bit,
// including sign(-0) = +1 and NaN -> +1 (an ordered < compare is false for both).
#include <immintrin.h>

#include <cstddef>

#include "bgemm/bgemm.h"

namespace scales::bgemm {

namespace {

template <bool kShift>
void pack_rows(const float* x, int rows, int channels, const float* shift, uint64_t* out) {
  const int words = (channels + 63) / 64;
  const __m512 zero = _mm512_setzero_ps();
  for (int t = 0; t < rows; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * channels;
    uint64_t* o = out + static_cast<std::size_t>(t) * words;
    for (int w = 0; w < words; ++w) {
      uint64_t bits = 0;
      for (int k = 0; k < 4; ++k) {
        const int c = 64 * w + 16 * k, left = channels - c;
        if (left <= 0) break;
        // Channels past the end load as 0: 0 < 0 is false, so pad bits stay 0.
        const __mmask16 live = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
        // A partial group still loads 16 floats where the rows after it hold that many more (the
        // lanes past the row are dropped by the mask on the compare): masked loads of a row's
        // tail stalled on Zen 5. Short rows (fewer than 16 channels) may need several rows after.
        const bool whole = left >= 16 || static_cast<std::ptrdiff_t>(rows - 1 - t) * channels + left >= 16;
        __m512 u = whole ? _mm512_loadu_ps(xt + c) : _mm512_maskz_loadu_ps(live, xt + c);
        if constexpr (kShift) u = _mm512_add_ps(u, _mm512_maskz_loadu_ps(live, shift + c));
        bits |= static_cast<uint64_t>(_mm512_mask_cmp_ps_mask(live, u, zero, _CMP_LT_OQ)) << (16 * k);
      }
      o[w] = bits;
    }
  }
}

}  // namespace

void pack_signs_avx512(const float* x, int rows, int channels, const float* shift, uint64_t* out) {
  if (shift)
    pack_rows<true>(x, rows, channels, shift, out);
  else
    pack_rows<false>(x, rows, channels, nullptr, out);
}

}  // namespace scales::bgemm
