// How many bytes one image request holds at its peak, computed from its header before any pixel
// is decoded: what the request reserves against the memory budget (memory_budget.h).
//
// A request goes through three phases; the reservation is the largest, plus the upload, which
// is held throughout (P = input pixels, S = output pixels = scale^2 P):
//   decode:    libvips' decoded copy (P x bands x bytes) and its row buffer, the float input
//              (12 P), the alpha plane (up to 4 P)
//   inference: the float input and alpha, the float output (12 S)
//   encode:    the float output, the 8- or 16-bit output pixels, and up to three copies of the
//              encoded bytes (libvips' buffer, imageio's vector, the reply), each bounded by the
//              raw pixel size (compression can only help)
// The engine's own work buffers are per worker, not per request: they are part of the server's
// fixed overhead (docs/service.md: memory).
#pragma once

#include <cstddef>

#include "scales/imageio.h"

namespace scales::server {

size_t request_footprint(const imageio::Header& h, int scale, size_t upload_bytes);

}  // namespace scales::server
