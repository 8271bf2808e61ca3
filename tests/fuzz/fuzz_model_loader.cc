// libFuzzer target for the model loader: any byte string must either load or be rejected with
// scales::Error; a crash, hang, leak or out-of-bounds read is a bug (built with ASan + UBSan).
// Seeds: tiny valid models written by tests/fuzz/make_seeds.py (scripts/test does it).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "scales/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto m = scales::Model::load_from_memory(std::vector<uint8_t>(data, data + size), "fuzz");
    (void)m->info();
  } catch (const scales::Error&) {
  }
  return 0;
}
