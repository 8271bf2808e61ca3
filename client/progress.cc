#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace scales::client {

Progress::Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO)), t0_(std::chrono::steady_clock::now()) {}

void Progress::done(const std::string& in, const std::string& out, bool ok, const std::string& error, bool skipped) {
  std::lock_guard<std::mutex> lk(mu_);
  ++finished_;
  failed_ += !ok;
  skipped_ += skipped;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  const double rate = s > 0 ? (finished_ - skipped_) / s : 0;
  const double eta = rate > 0 ? (total_ - finished_) / rate : 0;
  if (!ok) {
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "[%zu/%zu] error: %s\n", finished_, total_, error.c_str());
  } else if (!tty_) {
    std::fprintf(stderr, "[%zu/%zu] %s -> %s%s\n", finished_, total_, in.c_str(), out.c_str(),
                 skipped ? " (exists, skipped)" : "");
  }
  if (tty_) {
    const int width = 30, filled = static_cast<int>(width * finished_ / (total_ ? total_ : 1));
    std::fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu  %.2f img/s  ETA %.0f s", filled, "##############################",
                 width - filled, "", finished_, total_, rate, eta);
    if (finished_ == total_) std::fprintf(stderr, "\n");
  }
}

size_t Progress::summary() {
  std::lock_guard<std::mutex> lk(mu_);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::fprintf(stderr, "%zu images: %zu done, %zu skipped, %zu failed in %.1f s\n", total_,
               finished_ - failed_ - skipped_, skipped_, failed_, s);
  return failed_;
}

}  // namespace scales::client
