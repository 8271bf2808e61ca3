// Progress of a batch of files: on a terminal one line redrawn in place (N/total, images/s, ETA),
// otherwise one plain line per file; then a summary. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace scales::client {

class Progress {
 public:
  explicit Progress(size_t total);
  // One file finished: ok, skipped (already there) or failed with `error`.
  void done(const std::string& in, const std::string& out, bool ok, const std::string& error = "",
            bool skipped = false);
  // "N of total images failed" etc. on stderr; returns the number of failures.
  size_t summary();

 private:
  const size_t total_;
  const bool tty_;
  const std::chrono::steady_clock::time_point t0_;
  std::mutex mu_;
  size_t finished_ = 0, failed_ = 0, skipped_ = 0;
};

}  // namespace scales::client
