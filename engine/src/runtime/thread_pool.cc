#include "runtime/thread_pool.h"

#include <omp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

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
  std::atomic<int> next{0};
  std::mutex err_mu;
  std::exception_ptr err;
  // An exception must not leave an OpenMP region: each is caught here, the first kept, and the
  // remaining items skipped.
#pragma omp parallel num_threads(std::min(threads_, n))
  {
    name_worker();
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(err_mu);
        if (!err) err = std::current_exception();
        next.store(n);
      }
    }
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace scales::runtime
