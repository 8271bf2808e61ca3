#include <cstddef>

#include "bgemm/bgemm.h"

namespace scales::bgemm {

// The reference sign packing (bgemm.h): what pack_signs_avx2.cc and pack_signs_avx512.cc equal bit for
// bit, and what the ref and NEON kernel variants use.
void pack_signs_ref(const float* x, int rows, int channels, const float* shift, uint64_t* out) {
  const int words = (channels + 63) / 64;
  for (int t = 0; t < rows; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * channels;
    uint64_t* o = out + static_cast<std::size_t>(t) * words;
    for (int w = 0; w < words; ++w) {
      uint64_t bits = 0;
      const int c0 = 64 * w, n = channels - c0 < 64 ? channels - c0 : 64;
      // -0.0f < 0 is false: sign(-0) = +1
      if (shift)
        for (int j = 0; j < n; ++j) bits |= static_cast<uint64_t>(xt[c0 + j] + shift[c0 + j] < 0.0f) << j;
      else
        for (int j = 0; j < n; ++j) bits |= static_cast<uint64_t>(xt[c0 + j] < 0.0f) << j;
      o[w] = bits;
    }
  }
}

}  // namespace scales::bgemm
