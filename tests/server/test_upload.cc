// An upload stays in memory up to its threshold, then moves to an unnamed spool file holding
// every byte in order; the spool quota refuses what would pass it and gets every byte back.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "upload.h"

namespace scales::server {
namespace {

std::string read_back(int fd, size_t n) {
  std::string s(n + 1, '\0');
  const ssize_t got = ::pread(fd, s.data(), s.size(), 0);
  EXPECT_GE(got, 0);
  s.resize(static_cast<size_t>(std::max<ssize_t>(got, 0)));
  return s;
}

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 % 251);
  return s;
}

size_t files_in(const std::filesystem::path& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

struct SpoolDir : ::testing::Test {
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("scales-upload-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(SpoolDir, SmallUploadsStayInMemory) {
  SpoolQuota quota(1 << 20);
  Upload u({1000, dir, &quota});
  u.append(pattern(600, 'a'));
  u.append(pattern(400, 'b'));  // exactly the threshold: still in memory
  EXPECT_FALSE(u.spooled());
  EXPECT_EQ(u.size(), 1000u);
  EXPECT_EQ(u.bytes(), pattern(600, 'a') + pattern(400, 'b'));
  EXPECT_EQ(quota.used(), 0u);
}

TEST_F(SpoolDir, LargeUploadsMoveToAnUnnamedFileWithEveryByte) {
  SpoolQuota quota(1 << 20);
  Upload u({1000, dir, &quota});
  const std::string a = pattern(700, 'a'), b = pattern(500, 'b'), c = pattern(3000, 'c');
  u.append(a);
  u.append(b);  // passes the threshold: both go to the file
  ASSERT_TRUE(u.spooled());
  u.append(c);
  EXPECT_TRUE(u.bytes().empty());  // the memory copy is gone
  EXPECT_EQ(u.size(), a.size() + b.size() + c.size());
  EXPECT_EQ(read_back(u.fd(), u.size()), a + b + c);
  EXPECT_EQ(quota.used(), u.size());
  EXPECT_EQ(files_in(dir), 0u);  // no name: nothing is left behind if the server dies
  const int fd = u.fd();
  u.release();
  EXPECT_EQ(quota.used(), 0u);
  struct stat st {};
  EXPECT_NE(::fstat(fd, &st), 0);  // closed (and so deleted)
  u.release();                     // idempotent
  EXPECT_EQ(quota.used(), 0u);
}

TEST_F(SpoolDir, TheQuotaRefusesAndIsGivenBackByTheDestructor) {
  SpoolQuota quota(5000);
  {
    Upload first({100, dir, &quota});
    first.append(pattern(4000, 'x'));
    EXPECT_EQ(quota.used(), 4000u);
    Upload second({100, dir, &quota});
    second.append(pattern(100, 'y'));  // in memory: takes no quota
    try {
      second.append(pattern(2000, 'z'));
      FAIL() << "the spool took more than its cap";
    } catch (const UploadError& e) {
      EXPECT_NE(std::string(e.what()).find("spool is full"), std::string::npos) << e.what();
    }
    // The refused chunk took nothing; the 100 bytes held in memory moved to disk before it.
    EXPECT_EQ(quota.used(), 4100u);
  }
  EXPECT_EQ(quota.used(), 0u);
}

TEST_F(SpoolDir, TheGaugeFollowsEveryChange) {
  SpoolQuota quota(1 << 20);
  std::vector<size_t> seen;
  quota.on_change([&](size_t used) { seen.push_back(used); });
  {
    Upload u({100, dir, &quota});
    u.append(pattern(80, 'a'));   // in memory: no change
    u.append(pattern(300, 'b'));  // spooled: 80, then 300 more
  }
  EXPECT_EQ(seen, (std::vector<size_t>{80, 380, 0}));
}

TEST_F(SpoolDir, AnUnwritableDirectoryIsAClearError) {
  Upload u({10, (dir / "missing").string(), nullptr});
  try {
    u.append(pattern(100, 'q'));
    FAIL() << "spooled into a directory that does not exist";
  } catch (const UploadError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create an upload spool file in"), std::string::npos) << e.what();
  }
}

TEST_F(SpoolDir, ZeroThresholdNeverSpools) {
  Upload u({0, dir, nullptr});
  u.append(pattern(100000, 'm'));
  EXPECT_FALSE(u.spooled());
  EXPECT_EQ(u.size(), 100000u);
}

}  // namespace
}  // namespace scales::server
