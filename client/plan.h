// Which files to upscale and where each result goes: shared by the local and remote modes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace scales::client {

struct FileJob {
  std::filesystem::path in, out;
};

// A file -> that file (or a folder/ target); a folder -> every image below it, recursively,
// mirrored under `output` with the `format` extension. Sorted by input path. Throws scales::Error
// when the input does not exist or holds no image.
std::vector<FileJob> plan_jobs(const std::string& input, const std::string& output, const std::string& format);

// Output format of one job: the extension of its output file ("png", "jpg", "webp", "tif").
std::string format_of(const std::filesystem::path& out);

}  // namespace scales::client
