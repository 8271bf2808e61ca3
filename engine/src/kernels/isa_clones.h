// SCALES_ISA_CLONES before a function: GCC builds it for x86-64-v4 (AVX-512), x86-64-v3 (AVX2) and
// baseline x86-64 from the one source and picks one at load time from the CPU, since the engine
// itself is built for baseline x86-64. Used for the loops written in plain C++ that run once per
// pixel (epilogue rows, LayerNorm, the narrow conv, Winograd's transforms). Elsewhere (clang,
// sanitizer builds, arm64) it expands to nothing.
//
// Configured with SCALES_X86_CLONES=v3 (CMake), the v4 clone is left out, so an AVX-512 CPU runs
// what an AVX2-only CPU would: with `--kernel avx2` and ONEDNN_MAX_CPU_ISA=AVX2 a benchmark's
// "AVX2 code" is then AVX2 throughout (docs/benchmarks.md).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#if defined(SCALES_X86_CLONES_UP_TO_V3)
#define SCALES_ISA_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SCALES_ISA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#else
#define SCALES_ISA_CLONES
#endif
