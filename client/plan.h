// Which files to upscale and where each result goes: shared by the local and remote modes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "scales/imageio.h"

namespace scales::client {

struct FileJob {
  std::filesystem::path in, out;
  imageio::Format format;  // what `out` is written as
};

// A file -> that file, written in the format its extension names (or into a folder/ target, in
// `folder_format`); a folder -> every image below it, recursively, mirrored under `output` in
// `folder_format` with its extension. Sorted by input path. Throws scales::Error when the input
// does not exist or holds no image, or an output file's extension is not a format.
std::vector<FileJob> plan_jobs(const std::string& input, const std::string& output, imageio::Format folder_format);

}  // namespace scales::client
