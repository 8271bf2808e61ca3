#include "runtime/thread_pool.h"

#include <omp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace scales::runtime {

namespace {
// OpenMP's workers, which run this pool's loops and oneDNN's, named once for top and gdb.
void name_worker() {
  thread_local bool named = false;
  if (named || omp_get_thread_num() == 0) return;
  pthread_setname_np(pthread_self(), "scales-omp");
  named = true;
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  threads_ = std::max(threads, 1);
}

void ThreadPool::parallel_for(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> call(call_mu_);
  if (threads_ == 1 || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  // Each thread takes its own contiguous share of the items in order, then helps with the others'
  // shares from their current position. Consecutive ops split a map the same way, so a thread
  // mostly reads the rows it wrote itself, from its own core's caches: on a machine whose cores
  // share no cache (the 2-vCPU development machines measure 166 ns for a cache line's round trip
  // between them), one counter for all handed out neighbouring rows to alternate threads.
  const int team = std::min(threads_, n);
  struct alignas(64) Share {
    std::atomic<int> next;
    int end;
  };
  std::vector<Share> shares(team);
  for (int t = 0; t < team; ++t) {
    shares[t].next.store(static_cast<int>(static_cast<int64_t>(n) * t / team));
    shares[t].end = static_cast<int>(static_cast<int64_t>(n) * (t + 1) / team);
  }
  std::mutex err_mu;
  std::exception_ptr err;
  // An exception must not leave an OpenMP region: each is caught here, the first kept, and the
  // remaining items skipped.
#pragma omp parallel num_threads(team)
  {
    name_worker();
    const int me = omp_get_thread_num();
    for (int k = 0; k < team; ++k) {
      Share& s = shares[(me + k) % team];
      for (int i = s.next.fetch_add(1); i < s.end; i = s.next.fetch_add(1)) {
        try {
          fn(i);
        } catch (...) {
          std::lock_guard<std::mutex> lk(err_mu);
          if (!err) err = std::current_exception();
          for (Share& o : shares) o.next.store(o.end);
        }
      }
    }
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace scales::runtime
