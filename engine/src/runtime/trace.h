// Stage timing for finding where a forward pass spends its time: with SCALES_TRACE=1 in the
// environment, each stage's wall time is printed to stderr; otherwise the calls cost a branch.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace scales::runtime {

class StageTrace {
 public:
  StageTrace() : on_(enabled()), t_(std::chrono::steady_clock::now()) {}
  // Prints the time since the previous mark (or construction) under `stage`.
  void mark(const char* stage) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "trace %-14s %8.2f ms\n", stage, std::chrono::duration<double, std::milli>(now - t_).count());
    t_ = now;
  }

 private:
  static bool enabled() {
    static const bool on = [] {
      const char* v = std::getenv("SCALES_TRACE");
      return v && *v && *v != '0';
    }();
    return on;
  }
  bool on_;
  std::chrono::steady_clock::time_point t_;
};

}  // namespace scales::runtime
