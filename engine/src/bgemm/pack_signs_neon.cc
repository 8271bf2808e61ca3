// Sign-bit packing of rows (tokens of the binary linear, and each binary conv's input), aarch64
// NEON. NEON has no movemask: 16 channels' compares are narrowed to 16 bytes (0xFF or 0), each
// byte keeps its channel's bit weight 1 << (c % 8), and three pairwise adds sum each run of 8
// bytes into one byte, which, the weights being distinct bits, is their OR. A word's last partial
// group of 16 goes through the scalar test. Must equal pack_signs_ref (pack_signs_ref.cc) bit for
// bit: FCMLT is an ordered compare, so sign(-0) = +1 and NaN -> +1 as there.
#include <arm_neon.h>

#include <cstddef>

#include "bgemm/bgemm.h"
#include "bgemm/sign_bytes_neon.h"

namespace scales::bgemm {

namespace {

template <bool kShift>
inline uint8x16_t negative16(const float* x, const float* shift) {
  float32x4_t u[4];
  for (int q = 0; q < 4; ++q) {
    u[q] = vld1q_f32(x + 4 * q);
    if constexpr (kShift) u[q] = vaddq_f32(u[q], vld1q_f32(shift + 4 * q));
  }
  return sign_bytes16(u);
}

template <bool kShift>
void pack_rows(const float* x, int rows, int channels, const float* shift, uint64_t* out) {
  const int words = (channels + 63) / 64;
  for (int t = 0; t < rows; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * channels;
    uint64_t* o = out + static_cast<std::size_t>(t) * words;
    for (int w = 0; w < words; ++w) {
      const int c0 = 64 * w, n = channels - c0 < 64 ? channels - c0 : 64;
      uint64_t bits = 0;
      int j = 0;
      if (n == 64) {
        uint8x16_t m[4];
        for (int k = 0; k < 4; ++k) m[k] = negative16<kShift>(xt + c0 + 16 * k, kShift ? shift + c0 + 16 * k : nullptr);
        bits = word_from_sign_bytes(m);
        j = 64;
      } else {
        for (; j + 16 <= n; j += 16)
          bits |= static_cast<uint64_t>(mask16(negative16<kShift>(xt + c0 + j, kShift ? shift + c0 + j : nullptr)))
                  << j;
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

void pack_signs_neon(const float* x, int rows, int channels, const float* shift, uint64_t* out) {
  if (shift)
    pack_rows<true>(x, rows, channels, shift, out);
  else
    pack_rows<false>(x, rows, channels, nullptr, out);
}

}  // namespace scales::bgemm
