// How many bytes one image request holds at its peak, computed from its header before any pixel
// is decoded: what the request reserves against the memory budget (memory_budget.h).
//
// What a request holds (P = input pixels, S = output pixels = scale^2 P; b = 1 or 2 bytes per
// sample, as decoded and as written; the output has up to 4 bands; raw = the output's samples):
//   decoded input:  the 8- or 16-bit samples, three channels (3 b P), the alpha plane as floats
//                   (4 P, with alpha), and, for an image to rotate, libvips' whole decoded copy
//   rows of tiles:  the encoder's rows waiting for their tiles or for libvips (imageio::
//                   RowEncoder), in output samples: three rows of tiles (the one being filled, the
//                   next one a batch already reached, one being encoded), never more than raw.
//                   Measured: sixteen 2048x2048 x4 PNG requests peaked at 570 MiB in all
//                   (docs/benchmarks.md), so rows do not pile up behind the encoder in practice;
//                   nothing enforces it (the workers never wait for the encoder).
//   whole-picture formats: TIFF is built in memory before its first byte goes out (libtiff
//                   seeks back), about raw; WebP holds libvips' copy of the image (raw) and
//                   libwebp's ARGB picture (4 S). PNG and JPEG are written row by row.
//   encoded result: bounded by raw (compression can only help), held twice (the result and
//                   gRPC's copy of the reply); streamed, at most kMaxStreamQueue waits for the
//                   client (a client slower than that is refused)
// The float output is never held whole: each tile's pixels go into the encoder's rows as the
// tile finishes (TileJob::stream_tiles).
// The engine's own work buffers are per worker, not per request: they are part of the server's
// fixed overhead (docs/service.md: memory).
#pragma once

#include <cstddef>

#include "scales/imageio.h"

namespace scales::server {

// The most encoded bytes an UpscaleStream call queues for a client that reads slower than the
// result is produced; past it the call ends with RESOURCE_EXHAUSTED.
inline constexpr size_t kMaxStreamQueue = size_t{64} << 20;

// `upload_bytes`: the upload as held in memory (0 for one spooled to disk, upload.h).
// `format`: the output's. `tile`: the LR tile side the image will be cut into (Scheduler::
// tile_size); 0 counts the largest automatic tile, 2048.
// `streamed`: the result leaves in chunks as it is encoded (UpscaleStream), not in one reply.
size_t request_footprint(const imageio::Header& h, int scale, size_t upload_bytes, imageio::Format format, int tile,
                         bool streamed);

}  // namespace scales::server
