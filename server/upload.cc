#include "upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace scales::server {

bool SpoolQuota::take(size_t n) {
  size_t used = used_.load();
  do {
    if (used + n > cap_) return false;
  } while (!used_.compare_exchange_weak(used, used + n));
  notify();
  return true;
}

void SpoolQuota::give(size_t n) {
  used_.fetch_sub(n);
  notify();
}

void SpoolQuota::notify() {
  if (!on_change_) return;
  std::lock_guard<std::mutex> lk(notify_mu_);
  on_change_(used_.load());
}

void Upload::append(std::string_view chunk) {
  if (chunk.empty()) return;
  if (fd_ < 0 && o_.above > 0 && size_ + chunk.size() > o_.above) spool();
  if (fd_ < 0) {
    memory_.append(chunk);
  } else {
    if (o_.quota && !o_.quota->take(chunk.size()))
      throw UploadError("the upload spool is full (" + std::to_string(o_.quota->cap() >> 20) +
                        " MiB of uploads on disk, --max-spool-mb); retry later");
    quota_taken_ += chunk.size();
    write_all(chunk.data(), chunk.size());
  }
  size_ += chunk.size();
}

void Upload::spool() {
  if (o_.quota && !o_.quota->take(memory_.size()))
    throw UploadError("the upload spool is full (" + std::to_string(o_.quota->cap() >> 20) +
                      " MiB of uploads on disk, --max-spool-mb); retry later");
  quota_taken_ += memory_.size();
  // O_TMPFILE makes the file without a name; where the filesystem cannot (some overlay and
  // network filesystems), a named one is made and unlinked at once.
  fd_ = ::open(o_.dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    std::string path = o_.dir + "/scales-upload-XXXXXX";
    std::vector<char> name(path.begin(), path.end());
    name.push_back('\0');
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(name.data());
  }
  if (fd_ < 0) throw UploadError("cannot create an upload spool file in " + o_.dir + ": " + std::strerror(errno));
  write_all(memory_.data(), memory_.size());
  std::string().swap(memory_);
}

void Upload::write_all(const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw UploadError("cannot write the upload spool file: " + std::string(std::strerror(errno)));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void Upload::release() {
  std::string().swap(memory_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (o_.quota && quota_taken_ > 0) o_.quota->give(quota_taken_);
  quota_taken_ = 0;
}

}  // namespace scales::server
