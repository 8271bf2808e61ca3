// An UpscaleStream upload as its chunks arrive: held in memory while small, moved to a spool file
// once it passes a threshold. A 16384x16384 PNG is about half a gigabyte; held in memory beside
// its decoded samples (800 MB more) it alone would pass the 1.5 GB a huge image may take. Spooled,
// the encoded bytes wait on disk (the page cache, which the kernel may drop) and the decoder
// reads them from there (imageio::decode_descriptor_samples).
//
// The spool file is created in the spool directory and unlinked at once: it has no name, so a
// killed server leaves nothing behind, and it is gone when its descriptor is closed (release()
// or the destructor). All spooled uploads together are capped (SpoolQuota): a full spool refuses
// the call with RESOURCE_EXHAUSTED rather than filling the disk (in Kubernetes, an emptyDir past
// its sizeLimit gets the whole pod evicted).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace scales::server {

// The bytes all spool files hold together, against a cap.
class SpoolQuota {
 public:
  explicit SpoolQuota(size_t cap) : cap_(cap) {}
  bool take(size_t n);  // false (and nothing taken) when n more would pass the cap
  void give(size_t n);
  size_t used() const { return used_.load(); }
  size_t cap() const { return cap_; }
  // Called with the bytes in use after each change (the metrics gauge); set before any upload.
  void on_change(std::function<void(size_t used)> f) { on_change_ = std::move(f); }

 private:
  const size_t cap_;
  std::atomic<size_t> used_{0};
  std::function<void(size_t)> on_change_;
  std::mutex notify_mu_;  // the gauge gets the value read under it: the last change's call is last
  void notify();
};

struct SpoolOptions {
  size_t above = 0;             // spool an upload once it is larger than this; 0: never spool
  std::string dir = "/tmp";     // where spool files are created (unnamed)
  SpoolQuota* quota = nullptr;  // null: no cap
};

// Why an append failed: the spool is full, or the file could not be written. The call answers
// RESOURCE_EXHAUSTED with the message.
struct UploadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Upload {
 public:
  explicit Upload(SpoolOptions o) : o_(std::move(o)) {}
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
  ~Upload() { release(); }

  // Throws UploadError.
  void append(std::string_view chunk);
  size_t size() const { return size_; }
  bool spooled() const { return fd_ >= 0; }
  std::string_view bytes() const { return memory_; }  // when not spooled
  int fd() const { return fd_; }                      // when spooled: the file, offset anywhere
  // Frees the memory or closes (and so deletes) the file, and returns the quota. Idempotent.
  void release();

 private:
  void spool();  // moves memory_ into a new spool file
  void write_all(const char* p, size_t n);

  SpoolOptions o_;
  std::string memory_;
  int fd_ = -1;
  size_t size_ = 0;
  size_t quota_taken_ = 0;
};

}  // namespace scales::server
