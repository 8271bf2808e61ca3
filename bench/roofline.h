// The XOR + popcount ceiling of one ISA: how many binary MACs per second one thread sustains on
// L1-resident words, with the same instructions the ISA's kernel uses (vector XOR + VPOPCNTQ on
// AVX-512, XOR + nibble-LUT VPSHUFB + VPSADBW on AVX2, VEOR + VCNT + VPADAL on NEON, std::popcount
// for the reference). One translation unit per ISA, like the kernels.
#pragma once

#include <cstdint>
#include <string_view>

namespace scales::bench {

// Sums popcount(a[i] ^ b[i % 32]) over i < words, `reps` times (b's 32 words stay in registers,
// a streams from L1, as weights and activations do in the kernel); returns the total so the work
// cannot be optimised away. words is a multiple of 32. Binary MACs done = 64 * words * reps.
using XorPopcountFn = uint64_t (*)(const uint64_t* a, const uint64_t* b, int words, long reps);

uint64_t xor_popcount_ref(const uint64_t* a, const uint64_t* b, int words, long reps);
uint64_t xor_popcount_avx2(const uint64_t* a, const uint64_t* b, int words, long reps);
uint64_t xor_popcount_avx512(const uint64_t* a, const uint64_t* b, int words, long reps);
uint64_t xor_popcount_neon(const uint64_t* a, const uint64_t* b, int words, long reps);

// The function for a kernel variant name, or null when this build has none.
XorPopcountFn xor_popcount_for(std::string_view isa);

}  // namespace scales::bench
