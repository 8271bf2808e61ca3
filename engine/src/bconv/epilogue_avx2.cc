// The epilogue fused with the next layer's preparation, x86-64 AVX2 (compiled with -mavx2
// -ffp-contract=off): the AVX-512 form's plan (epilogue_avx512.cc) in 8-lane registers. One pass
// over a row's pixels computes z (epilogue_row) and, from z still in registers, the next layer's
// sign bits and the 16 partial sums of its spatial dot product; the dot products are folded per
// pixel and their sigmoids taken 8 pixels at a time. AVX2 has 16 vector registers, too few to hold
// the per-channel factors of a 64-channel row, so they are loaded from L1 per pixel, and the
// channel sums stay a pass of their own (channel_sums_row).
//
// Measured (scales-latency, B16 C64 x2 at 256x256, 2 threads, --kernel avx2 with oneDNN held to
// AVX2, on the AVX-512 CPU of docs/benchmarks.md, against the build before, alternating,
// 2026-12-03): the body 333-335 -> 277-278 ms; before, the AVX2 kernel variant ran the generic
// epilogue_row and prepare_row, two passes over each row with a libm exp per pixel.
//
// It must equal epilogue_row + prepare_row (epilogue.cc) bit for bit (tests/engine/
// test_epilogue.cc, and the backend harness through the fused body): every product and sum is
// formed in the same order, each rounded (no FMA), the dot product's 16 lanes (here two 8-lane
// halves) and fold are the reference's dot16, and the sigmoid is sigmoid.h's.
#include <immintrin.h>

#include <cstddef>

#include "bconv/epilogue.h"
#include "bconv/sigmoid_avx2.h"

namespace scales::bconv {

namespace {

// dot16's fold of lanes lo (0-7) and hi (8-15): l += l + 8, then l += l + 4, then l += l + 2,
// then lane 0 + lane 1.
inline float fold16(__m256 lo, __m256 hi) {
  const __m256 a8 = _mm256_add_ps(lo, hi);
  const __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
  const __m128 a2 = _mm_add_ps(a4, _mm_movehl_ps(a4, a4));
  return _mm_cvtss_f32(a2) + _mm_cvtss_f32(_mm_shuffle_ps(a2, a2, 1));
}

// Lanes [0, n) set, as a load/store mask (n in 0..8).
inline __m256i lane_mask(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

}  // namespace

void epilogue_prepare_row_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                               const float* prelu_slope, int width, int channels, float* x_row,
                               const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums) {
  const int words = (channels + 63) / 64;
  const float* shift = next && !next->shift.empty() ? next->shift.data() : nullptr;
  const float* sw = next && !next->spatial_w.empty() ? next->spatial_w.data() : nullptr;
  const __m256 zero = _mm256_setzero_ps();
  const bool full = channels % 8 == 0;
  const __m256i tail = lane_mask(channels % 8);
  alignas(32) float dots[8] = {};  // spatial dot products of pixels p0 .. p0 + 7
  for (int p0 = 0; p0 < width; p0 += 8) {
    const int n = width - p0 < 8 ? width - p0 : 8;
    for (int i = 0; i < n; ++i) {
      const int p = p0 + i;
      const int32_t* yp = ybin + static_cast<std::size_t>(p) * channels;
      float* zp = x_row + static_cast<std::size_t>(p) * channels;
      const __m256 s = _mm256_set1_ps(s_row ? s_row[p] : 1.0f);
      __m256 acc[2] = {zero, zero};  // dot16's lanes 0-7 and 8-15
      uint64_t word = 0;
      for (int c0 = 0; c0 < channels; c0 += 8) {
        const bool part = !full && channels - c0 < 8;
        // Masked loads read zeros past the row's channels, as the reference never reads them.
        auto load = [&](const float* q) { return part ? _mm256_maskload_ps(q + c0, tail) : _mm256_loadu_ps(q + c0); };
        __m256 g = load(gk);
        if (s_row) g = _mm256_mul_ps(g, s);
        if (cfac) g = _mm256_mul_ps(g, load(cfac));
        const __m256i yi =
            part ? _mm256_maskload_epi32(yp + c0, tail) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yp + c0));
        __m256 z = _mm256_add_ps(load(zp), _mm256_mul_ps(_mm256_cvtepi32_ps(yi), g));
        if (prelu_slope)
          z = _mm256_blendv_ps(z, _mm256_mul_ps(load(prelu_slope), z), _mm256_cmp_ps(z, zero, _CMP_LT_OQ));
        if (part) {
          _mm256_maskstore_ps(zp + c0, tail, z);
        } else {
          _mm256_storeu_ps(zp + c0, z);
        }
        if (!next) continue;
        const __m256 u = shift ? _mm256_add_ps(z, load(shift)) : z;
        uint64_t bits = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(u, zero, _CMP_LT_OQ)));
        if (part) bits &= (uint64_t{1} << (channels - c0)) - 1;
        word |= bits << (c0 & 63);
        if ((c0 & 63) == 56 || channels - c0 <= 8) {
          packed_row[static_cast<std::size_t>(p) * words + c0 / 64] = word;
          word = 0;
        }
        if (sw) {
          // Lanes past the row's channels add w = 0 times z = 0: +0, as the reference's
          // untouched accumulator lanes hold.
          __m256& a = acc[(c0 / 8) & 1];
          a = _mm256_add_ps(a, _mm256_mul_ps(load(sw), part ? _mm256_and_ps(z, _mm256_castsi256_ps(tail)) : z));
        }
      }
      if (sw) dots[i] = fold16(acc[0], acc[1]);
    }
    if (!sw) continue;
    const __m256 sv = sigmoid8(_mm256_add_ps(_mm256_load_ps(dots), _mm256_set1_ps(next->spatial_b)));
    if (n == 8) {
      _mm256_storeu_ps(s_next + p0, sv);
    } else {
      _mm256_maskstore_ps(s_next + p0, lane_mask(n), sv);
    }
  }
  if (next && !next->fc1_w.empty()) channel_sums_row(x_row, width, channels, sums);
}

// dot16 per token in two 8-lane halves (16-channel steps in channel order, each product and sum
// rounded, the tail masked), folded per token as fold16 does, then sigmoid8 on 8 tokens at once.
void spatial_factors_avx2(const float* w, float b, const float* x, int width, int channels, float* s) {
  alignas(32) float dots[8];
  for (int p0 = 0; p0 < width; p0 += 8) {
    const int n = width - p0 < 8 ? width - p0 : 8;
    for (int i = 0; i < n; ++i) {
      const float* xp = x + static_cast<std::size_t>(p0 + i) * channels;
      __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int c0 = 0; c0 < channels; c0 += 8) {
        const int left = channels - c0;
        __m256 prod;
        if (left >= 8) {
          prod = _mm256_mul_ps(_mm256_loadu_ps(w + c0), _mm256_loadu_ps(xp + c0));
        } else {
          const __m256i m = lane_mask(left);
          prod = _mm256_mul_ps(_mm256_maskload_ps(w + c0, m), _mm256_maskload_ps(xp + c0, m));
        }
        acc[(c0 / 8) & 1] = _mm256_add_ps(acc[(c0 / 8) & 1], prod);  // masked-off lanes add +0 to +0
      }
      dots[i] = fold16(acc[0], acc[1]);
    }
    const __m256 sv = sigmoid8(_mm256_add_ps(_mm256_load_ps(dots), _mm256_set1_ps(b)));
    if (n == 8)
      _mm256_storeu_ps(s + p0, sv);
    else
      _mm256_maskstore_ps(s + p0, lane_mask(n), sv);
  }
}

}  // namespace scales::bconv
