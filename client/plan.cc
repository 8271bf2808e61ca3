#include "plan.h"

#include <algorithm>
#include <set>

#include "scales/types.h"

namespace fs = std::filesystem;

namespace scales::client {

namespace {
const std::set<std::string> kImageExts = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

std::vector<FileJob> plan_jobs(const std::string& input, const std::string& output, const std::string& format) {
  const fs::path in(input), out(output);
  std::vector<FileJob> jobs;
  if (fs::is_directory(in)) {
    for (auto& e : fs::recursive_directory_iterator(in)) {
      if (!e.is_regular_file() || !kImageExts.count(lower(e.path().extension().string()))) continue;
      fs::path rel = fs::relative(e.path(), in);
      rel.replace_extension("." + format);
      jobs.push_back({e.path(), out / rel});
    }
    std::sort(jobs.begin(), jobs.end(), [](const FileJob& a, const FileJob& b) { return a.in < b.in; });
  } else if (fs::is_regular_file(in)) {
    fs::path target = out;
    if (fs::is_directory(out) || output.ends_with("/")) target = out / (in.stem().string() + "." + format);
    jobs.push_back({in, target});
  } else {
    throw Error(input + ": no such file or folder");
  }
  if (jobs.empty()) throw Error(input + ": no images found");
  return jobs;
}

std::string format_of(const fs::path& out) {
  const std::string e = lower(out.extension().string());
  if (e == ".jpg" || e == ".jpeg") return "jpg";
  if (e == ".webp") return "webp";
  if (e == ".tif" || e == ".tiff") return "tif";
  return "png";
}

}  // namespace scales::client
