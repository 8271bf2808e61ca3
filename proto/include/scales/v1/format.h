// The API's output format and the codec's (imageio::Format), mapped in one place for the client
// and the server. Header only: its users link scales::imageio and scales::proto.
#pragma once

#include <optional>

#include "scales/imageio.h"
#include "scales/v1/upscaler.pb.h"

namespace scales::v1 {

// Unspecified is PNG; nullopt for a value the API does not define.
inline std::optional<imageio::Format> from_proto(Format f) {
  switch (f) {
    case FORMAT_UNSPECIFIED:
    case FORMAT_PNG: return imageio::Format::png;
    case FORMAT_JPEG: return imageio::Format::jpeg;
    case FORMAT_WEBP: return imageio::Format::webp;
    case FORMAT_TIFF: return imageio::Format::tiff;
    default: return std::nullopt;
  }
}

inline Format to_proto(imageio::Format f) {
  switch (f) {
    case imageio::Format::png: return FORMAT_PNG;
    case imageio::Format::jpeg: return FORMAT_JPEG;
    case imageio::Format::webp: return FORMAT_WEBP;
    case imageio::Format::tiff: return FORMAT_TIFF;
  }
  return FORMAT_PNG;
}

}  // namespace scales::v1
