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

std::vector<FileJob> plan_jobs(const std::string& input, const std::string& output, imageio::Format folder_format) {
  const std::string ext = std::string(".") + imageio::extension(folder_format);
  const fs::path in(input), out(output);
  std::vector<FileJob> jobs;
  if (fs::is_directory(in)) {
    for (auto& e : fs::recursive_directory_iterator(in)) {
      if (!e.is_regular_file() || !kImageExts.count(lower(e.path().extension().string()))) continue;
      fs::path rel = fs::relative(e.path(), in);
      rel.replace_extension(ext);
      jobs.push_back({e.path(), out / rel, folder_format});
    }
    std::sort(jobs.begin(), jobs.end(), [](const FileJob& a, const FileJob& b) { return a.in < b.in; });
  } else if (fs::is_regular_file(in)) {
    if (fs::is_directory(out) || output.ends_with("/"))
      jobs.push_back({in, out / (in.stem().string() + ext), folder_format});
    else
      jobs.push_back({in, out, imageio::format_of_path(output)});
  } else {
    throw Error(input + ": no such file or folder");
  }
  if (jobs.empty()) throw Error(input + ": no images found");
  return jobs;
}

}  // namespace scales::client
