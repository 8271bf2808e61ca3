// Binary GEMM, x86-64 AVX2 (compiled with -mavx2). AVX2 has no vector popcount, so bytes are
// counted with the 4-bit lookup table in VPSHUFB (popcount_avx2.h), summed as bytes for up to 31
// steps (31 * 8 = 248 fits a byte) and then folded into 64-bit lanes with VPSADBW.
//
// Layout as in the AVX-512 kernel (bgemm_avx512.cc): 8 output channels per group, here two ymm of
// 4 u64 lanes; each row's activation word is broadcast.
//
// Two forms of the count (issue 19 asked which is faster; measured on the 64 -> 64 3x3 conv at
// 256x256, 2 threads, AMD EPYC Zen 4, side by side in one run of a throwaway harness that linked
// both forms; docs/benchmarks.md):
// - nibble lookup per word, P rows sharing each weight load: 414-441 G/s at P = 2;
// - Harley-Seal, one row at a time: the row's XORed words pass through a carry-save adder two at a
//   time (ones, twos = CSA(ones, u, v)), so one lookup popcount ("twos", counted twice) serves two
//   words, and "ones" is counted once at the end: 476-488 G/s (P = 2 spills: 334-346).
// The 3x3 conv's rows (three runs) take Harley-Seal. Two later changes to it, an odd word seeding
// "ones" and the sums converted to output in vector form, took the 64 -> 64 conv from 458-480 to
// 574-613 G/s (efficiency 0.65-0.68 -> 0.80-0.87; `scales-bench --kernel-only`, both builds
// alternating in one run, 2026-12-03, docs/benchmarks.md). Then (2026-12-05, same command, AMD
// EPYC Zen 5 running the AVX2 code): the carries' byte counts summed undoubled (one add fewer per
// pair and half) and a fixed-K form for 9 words, unrolled with its sums pinned to registers, took
// it from 545-635 to 693-744 G/s; against a roofline given the same one-add saving, 0.92-0.96 of
// it (docs/benchmarks.md, "Headline: the AVX2 kernel").
//
// The linear's one-run rows took the lookup with P = 4, the fastest form measured for them, and
// its outputs went through a scalar loop per row and group until 2026-12-05. At SwinIR's 1-2
// words a row that loop was most of the kernel: the vector form (dot_from_popcounts) took the
// paper-size SwinIR x2 pass on AVX2 from 233-235 to 197-199 ms (scales-latency, 128x128, 2
// threads). Rows of 1-4 words now take linear_rows_avx2, with the nibbles split ahead: 200-212 ->
// 193 ms. Longer one-run rows keep the P = 4 lookup (docs/benchmarks.md).
#include <immintrin.h>

#include <cstddef>

#include "bgemm/bgemm.h"
#include "bgemm/popcount_avx2.h"

namespace scales::bgemm {

namespace {

// The 8 output channels' popcounts, u64 lanes 0-3 in lo and 4-7 in hi (each < 2^32), as
// k_bits - 2 * pop in 8 int32 lanes: the two halves interleaved into one register, then put
// back in channel order. In vector form because the scalar loop it replaces was about a tenth
// of the 3x3 kernel's instructions at 64 channels (9 words per row).
inline __m256i dot_from_popcounts(__m256i lo, __m256i hi, int k_bits) {
  const __m256i mixed = _mm256_blend_epi32(lo, _mm256_slli_epi64(hi, 32), 0xaa);  // 0 4 1 5 2 6 3 7
  const __m256i pop = _mm256_permutevar8x32_epi32(mixed, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
  return _mm256_sub_epi32(_mm256_set1_epi32(k_bits), _mm256_add_epi32(pop, pop));
}

inline void store_dot(__m256i dot, const Weights& w, int g, int32_t* out) {
  const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
  int32_t* o = out + 8 * g;
  if (n == 8) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), dot);
  } else {
    alignas(32) int32_t d[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(d), dot);
    for (int l = 0; l < n; ++l) o[l] = d[l];
  }
}

template <int P>
inline void rows_avx2(const Rows& a, int r0, const Weights& w, int32_t* out) {
  const __m256i lut = nibble_popcount_lut();
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  // Locals, not a.*: the compiler then keeps them in registers across the unrolled loops.
  const int runs = a.runs, run_words = a.run_words, stride = a.stride;
  const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(r0) * stride;
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * w.k_words * 8;
    __m256i acc64[P][2], acc8[P][2];
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p)
      for (int h = 0; h < 2; ++h) acc64[p][h] = acc8[p][h] = zero;
    int pending = 0;  // steps summed in acc8 since the last fold
    for (int s = 0; s < runs; ++s) {
      const uint64_t* r = a.run[s] + first;
      const uint64_t* ws = wg + static_cast<std::size_t>(s) * run_words * 8;
      for (int j = 0; j < run_words; ++j) {
        const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ws + static_cast<std::size_t>(j) * 8));
        const __m256i w1 =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ws + static_cast<std::size_t>(j) * 8 + 4));
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) {
          const __m256i av = _mm256_set1_epi64x(static_cast<long long>(r[p * stride + j]));
          acc8[p][0] = _mm256_add_epi8(acc8[p][0], popcnt_bytes(_mm256_xor_si256(w0, av), lut, low4));
          acc8[p][1] = _mm256_add_epi8(acc8[p][1], popcnt_bytes(_mm256_xor_si256(w1, av), lut, low4));
        }
        if (++pending == 31) {
#pragma GCC unroll 8
          for (int p = 0; p < P; ++p)
            for (int h = 0; h < 2; ++h) {
              acc64[p][h] = _mm256_add_epi64(acc64[p][h], _mm256_sad_epu8(acc8[p][h], zero));
              acc8[p][h] = zero;
            }
          pending = 0;
        }
      }
    }
    for (int p = 0; p < P; ++p) {
      const __m256i lo = _mm256_add_epi64(acc64[p][0], _mm256_sad_epu8(acc8[p][0], zero));
      const __m256i hi = _mm256_add_epi64(acc64[p][1], _mm256_sad_epu8(acc8[p][1], zero));
      store_dot(dot_from_popcounts(lo, hi, w.k_bits), w, g, out + static_cast<std::size_t>(p) * w.c_out);
    }
  }
}

// The linear's rows at 1-4 words (SwinIR's 60-240 channels), where the nibble lookup's own
// steps are most of the work: per word, output half and row, rows_avx2 spends eight vector
// operations (XOR, two ANDs, a shift, two lookups, two adds). Here the nibble split is done
// ahead, once per group for the weights and once per row for the activations (a ^ w splits into
// a's nibbles ^ w's), so each lookup takes one XOR of pre-split planes and the activation planes
// arrive by broadcast loads: six operations. The group's weight planes stay in registers across
// rows; rows go in chunks of kChunk, whose planes are split once for all groups.
template <int K>
void linear_rows_avx2(const Rows& a, const Weights& w, int32_t* out) {
  const __m256i lut = nibble_popcount_lut();
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  constexpr uint64_t kLowNibbles = 0x0f0f0f0f0f0f0f0full;
  constexpr int kChunk = 64;
  uint64_t planes[kChunk][K][2];  // [row][word]: low nibbles, high nibbles (each in its byte's low half)
  for (int r0 = 0; r0 < a.count; r0 += kChunk) {
    const int nr = a.count - r0 < kChunk ? a.count - r0 : kChunk;
    for (int r = 0; r < nr; ++r)
      for (int k = 0; k < K; ++k) {
        const uint64_t v = a.run[0][static_cast<std::ptrdiff_t>(r0 + r) * a.stride + k];
        planes[r][k][0] = v & kLowNibbles;
        planes[r][k][1] = (v >> 4) & kLowNibbles;
      }
    for (int g = 0; g < w.groups(); ++g) {
      const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * K * 8;
      __m256i wl[K][2], wh[K][2];  // [word][half]: output channels 0-3, 4-7 of the group
      for (int k = 0; k < K; ++k)
        for (int h = 0; h < 2; ++h) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + k * 8 + h * 4));
          wl[k][h] = _mm256_and_si256(v, low4);
          wh[k][h] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        }
      for (int r = 0; r < nr; ++r) {
        __m256i c[2] = {zero, zero};  // byte counts (at most 8 K per byte)
        for (int k = 0; k < K; ++k) {
          const __m256i al = _mm256_set1_epi64x(static_cast<long long>(planes[r][k][0]));
          const __m256i ah = _mm256_set1_epi64x(static_cast<long long>(planes[r][k][1]));
          for (int h = 0; h < 2; ++h)
            c[h] = _mm256_add_epi8(c[h], _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_xor_si256(wl[k][h], al)),
                                                         _mm256_shuffle_epi8(lut, _mm256_xor_si256(wh[k][h], ah))));
        }
        store_dot(dot_from_popcounts(_mm256_sad_epu8(c[0], zero), _mm256_sad_epu8(c[1], zero), w.k_bits), w, g,
                  out + static_cast<std::size_t>(r0 + r) * w.c_out);
      }
    }
  }
}

// Harley-Seal, one row (r0) and one group at a time; the activation words of the row are
// gathered first (at most kMaxWords; longer rows take the lookup form).
constexpr int kMaxWords = 256;

// One carry-save step over a pair of XORed words u, v: "ones" keeps the bits seen an odd number
// of times, and the returned carries ("twos") stand for two each.
inline __m256i csa(__m256i& ones, __m256i u, __m256i v) {
  const __m256i t = _mm256_xor_si256(ones, u);
  const __m256i twos = _mm256_or_si256(_mm256_and_si256(ones, u), _mm256_and_si256(t, v));
  ones = _mm256_xor_si256(t, v);
  return twos;
}

// The byte counts of the carries are summed as they are (at most 8 per pair) and doubled once,
// at the end or at a fold, not per pair: that is one add fewer per pair and half.
//
// Rows of K words, K a constant of at most 31 (every 3x3 conv over at most 64 channels: K = 9).
// No fold is needed (15 pairs x 8, doubled, plus 8 for "ones" is 248, inside a byte), every
// loop is unrolled, and the empty asm pins each running sum where it is added: without it GCC
// may compute all the counts first and sum them as a tree, which spills (bgemm_avx512.cc).
template <int K>
inline void row_avx2_hs_fixed(const uint64_t* x, const Weights& w, int32_t* out) {
  static_assert(K >= 2 && K <= 31);
  const __m256i lut = nibble_popcount_lut();
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  constexpr int k0 = K & 1;  // an odd first word seeds "ones" (counted once at the end anyway)
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * K * 8;
    __m256i sum[2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const auto wload = [&](int k) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + 8 * k + 4 * h));
      };
      const auto xw = [&](int k) {
        return _mm256_xor_si256(wload(k), _mm256_set1_epi64x(static_cast<long long>(x[k])));
      };
      __m256i ones = k0 ? xw(0) : zero, acc8 = zero;
#pragma GCC unroll 16
      for (int k = k0; k < K; k += 2) {
        const __m256i c = popcnt_bytes(csa(ones, xw(k), xw(k + 1)), lut, low4);
        acc8 = k == k0 ? c : _mm256_add_epi8(acc8, c);
        asm("" : "+x"(acc8));
      }
      sum[h] = _mm256_sad_epu8(_mm256_add_epi8(_mm256_add_epi8(acc8, acc8), popcnt_bytes(ones, lut, low4)), zero);
    }
    store_dot(dot_from_popcounts(sum[0], sum[1], w.k_bits), w, g, out);
  }
}

// Any K up to kMaxWords: the same count with a runtime loop (an odd first word seeding "ones"
// likewise), folding the byte sums into 64-bit lanes every 31 pairs.
inline void row_avx2_hs(const uint64_t* x, int K, const Weights& w, int32_t* out) {
  const __m256i lut = nibble_popcount_lut();
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  const int k0 = K & 1;
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * w.k_words * 8;
    __m256i acc64[2] = {zero, zero}, acc8[2] = {zero, zero}, ones[2] = {zero, zero};
    if (k0) {
      const __m256i xa = _mm256_set1_epi64x(static_cast<long long>(x[0]));
      for (int h = 0; h < 2; ++h)
        ones[h] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + 4 * h)), xa);
    }
    int pairs = 0;
    for (int k = k0; k + 2 <= K; k += 2) {
      const __m256i xa = _mm256_set1_epi64x(static_cast<long long>(x[k]));
      const __m256i xb = _mm256_set1_epi64x(static_cast<long long>(x[k + 1]));
      const uint64_t* wk = wg + static_cast<std::size_t>(k) * 8;
      for (int h = 0; h < 2; ++h) {
        const __m256i u = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 4 * h)), xa);
        const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 8 + 4 * h)), xb);
        acc8[h] = _mm256_add_epi8(acc8[h], popcnt_bytes(csa(ones[h], u, v), lut, low4));
      }
      if (++pairs == 31) {  // a byte gains at most 8 per pair
        for (int h = 0; h < 2; ++h) {
          acc64[h] = _mm256_add_epi64(acc64[h], _mm256_sad_epu8(acc8[h], zero));
          acc8[h] = zero;
        }
        pairs = 0;
      }
    }
    __m256i sum[2];
    for (int h = 0; h < 2; ++h) {
      const __m256i twos = _mm256_add_epi64(acc64[h], _mm256_sad_epu8(acc8[h], zero));
      sum[h] = _mm256_add_epi64(_mm256_add_epi64(twos, twos), _mm256_sad_epu8(popcnt_bytes(ones[h], lut, low4), zero));
    }
    store_dot(dot_from_popcounts(sum[0], sum[1], w.k_bits), w, g, out);
  }
}

// Every row in Harley-Seal form: the row's words gathered into x, then the fixed-K form for 9
// words (3x3 convs over at most 64 channels, every shipped model; the one form measured), else
// the loop.
inline void all_rows_avx2_hs(const Rows& a, const Weights& w, int32_t* out) {
  const int K = a.runs * a.run_words;
  alignas(32) uint64_t x[kMaxWords];
  for (int r = 0; r < a.count; ++r) {
    for (int s = 0, k = 0; s < a.runs; ++s)
      for (int j = 0; j < a.run_words; ++j) x[k++] = a.run[s][static_cast<std::ptrdiff_t>(r) * a.stride + j];
    int32_t* o = out + static_cast<std::size_t>(r) * w.c_out;
    if (K == 9)
      row_avx2_hs_fixed<9>(x, w, o);
    else
      row_avx2_hs(x, K, w, o);
  }
}

template <int P>
void all_rows_avx2(const Rows& a, const Weights& w, int32_t* out) {
  int r = 0;
  for (; r + P <= a.count; r += P) rows_avx2<P>(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
  for (; r < a.count; ++r) rows_avx2<1>(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
}

}  // namespace

void bgemm_avx2(const Rows& a, const Weights& w, int32_t* out) {
  if (a.runs == 1) {
    switch (a.run_words) {
      case 1: return linear_rows_avx2<1>(a, w, out);
      case 2: return linear_rows_avx2<2>(a, w, out);
      case 3: return linear_rows_avx2<3>(a, w, out);
      case 4: return linear_rows_avx2<4>(a, w, out);
      default: all_rows_avx2<4>(a, w, out);
    }
  } else if (a.runs * a.run_words <= kMaxWords) {
    all_rows_avx2_hs(a, w, out);
  } else {
    all_rows_avx2<2>(a, w, out);
  }
}

}  // namespace scales::bgemm
