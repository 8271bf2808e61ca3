#pragma once
// OmpThreads: sets this thread's OpenMP thread count (what oneDNN parallelises over) for one
// scope and puts the previous value back at its end.
//
// Why restore: the count is per-thread state, and the engine's ops run on the caller's thread as
// well as on the pool's (ThreadPool::parallel_for runs items on its caller). Left at 1, it would
// silently make everything the caller runs next with OpenMP single-threaded: LibTorch and OpenBLAS
// in the same process (scales-bench's FP twin took 1798 ms after a SwinIR forward, 1087 ms with
// the count restored).
#include <omp.h>

namespace scales::fp {

class OmpThreads {
 public:
  explicit OmpThreads(int n) : previous_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(previous_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_;
};

}  // namespace scales::fp
