// The XOR + popcount ceiling of one ISA: how many binary MACs per second one thread sustains on
// L1-resident words, with the same instructions the ISA's kernel uses (vector XOR + VPOPCNTQ on
// AVX-512, XOR + nibble-LUT VPSHUFB + VPSADBW on AVX2, VEOR + VCNT + VPADAL on NEON, std::popcount
// for the reference). One translation unit per ISA, like the kernels.
#pragma once

#include <cstdint>
#include <string_view>

namespace scales::bench {

// XOR + popcount of words of a against words of b (both L1-resident) in the ISA kernel's own mix
// of loads, broadcasts and register reuse, `reps` times; returns the total so the work cannot be
// optimised away. words is a multiple of 128, b holds 32 words. Binary MACs done = 64 * words *
// reps (the AVX-512 form reads fewer words of a, each against several of b, as its kernel does).
using XorPopcountFn = uint64_t (*)(const uint64_t* a, const uint64_t* b, int words, long reps);

uint64_t xor_popcount_ref(const uint64_t* a, const uint64_t* b, int words, long reps);
uint64_t xor_popcount_avx2(const uint64_t* a, const uint64_t* b, int words, long reps);
uint64_t xor_popcount_avx512(const uint64_t* a, const uint64_t* b, int words, long reps);
uint64_t xor_popcount_neon(const uint64_t* a, const uint64_t* b, int words, long reps);

// The function for a kernel variant name, or null when this build has none.
XorPopcountFn xor_popcount_for(std::string_view isa);

}  // namespace scales::bench
