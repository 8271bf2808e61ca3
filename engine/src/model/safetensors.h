// safetensors container: 8-byte little-endian header length N, N bytes of JSON, tensor data.
// parse() validates everything it is given and never reads outside the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace scales::model {

enum class DType { F32, U64 };

struct TensorView {
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;  // points into the parsed buffer

  int64_t numel() const;
};

struct SafeTensors {
  std::map<std::string, std::string> metadata;
  std::map<std::string, TensorView> tensors;
};

// `what` names the file in error messages. The buffer must outlive the result.
SafeTensors parse_safetensors(std::span<const uint8_t> buffer, const std::string& what);

}  // namespace scales::model
