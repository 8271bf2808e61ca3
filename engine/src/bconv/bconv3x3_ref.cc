#include "bconv/bconv3x3_ref.h"

#include <bit>

namespace scales::bconv {

namespace {
void ref_row(const PackedMap& a, const uint64_t* weight_bits, int c_out, int in_channels, int y, int32_t* out) {
  const int words = a.words;
  const int32_t k = 9 * in_channels;
  for (int x = 0; x < a.width; ++x) {
    int32_t* o = out + static_cast<size_t>(x) * c_out;
    for (int co = 0; co < c_out; ++co) {
      const uint64_t* wt = weight_bits + static_cast<size_t>(co) * 9 * words;
      int32_t pop = 0;
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) {
          const uint64_t* act = a.at(y + kh - 1, x + kw - 1);
          const uint64_t* w = wt + (kh * 3 + kw) * words;
          for (int i = 0; i < words; ++i) pop += std::popcount(act[i] ^ w[i]);
        }
      o[co] = k - 2 * pop;
    }
  }
}
}  // namespace

void bconv3x3_ref(const PackedMap& a, const uint64_t* weight_bits, int c_out, int in_channels, int32_t* out) {
  for (int y = 0; y < a.height; ++y)
    ref_row(a, weight_bits, c_out, in_channels, y, out + static_cast<size_t>(y) * a.width * c_out);
}

}  // namespace scales::bconv
