// The kernel parity harness's shared pieces (test_bgemm.cc, test_bconv_kernels.cc,
// test_blinear.cc): every ISA name the tests know, and the variant of one, or a visible skip.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "kernels/variant.h"

namespace scales::testing {

// Every ISA, built here or not: a variant this build or this CPU lacks is skipped with the
// reason, never passed silently.
inline auto all_isas() { return ::testing::Values("ref", "avx2", "avx512", "neon"); }

// The variant named `isa`; null, with `why` saying so, when this build or CPU cannot run it.
inline const kernels::KernelVariant* variant_named(const std::string& isa, std::string& why) {
  for (const auto& v : kernels::kernel_variants())
    if (v.name == isa) {
      if (v.supported) return &v;
      why = isa + " is not supported by this CPU";
      return nullptr;
    }
  why = isa + " is not built for this architecture";
  return nullptr;
}

}  // namespace scales::testing

// In a test body: `var` is the variant named `isa`, or the test is skipped saying why.
#define SCALES_VARIANT_OR_SKIP(var, isa)                                                          \
  std::string var##_why;                                                                          \
  const ::scales::kernels::KernelVariant* var = ::scales::testing::variant_named(isa, var##_why); \
  if (!var) GTEST_SKIP() << var##_why
