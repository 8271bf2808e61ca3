// `scales-upscale --local`: upscale a file or a folder tree in-process with the engine.
#pragma once

#include <string>

namespace scales::client {

struct LocalOptions {
  std::string model;   // model file (.safetensors)
  std::string input;   // image file or folder (searched recursively)
  std::string output;  // file (single input) or folder (mirrors the input tree)
  std::string format = "png";
  int quality = 90;
  int threads = 0;      // engine threads, 0 = all cores
  std::string kernel;   // binary kernel variant, "" = best (or SCALES_KERNEL)
  int tile = 0;         // LR tile side, 0 = automatic
};

// Returns the process exit code: 0 when every image was written, 1 if any failed (each failure is
// reported on stderr and the others still run), 2 for unusable options.
int run_local(const LocalOptions& opt);

}  // namespace scales::client
