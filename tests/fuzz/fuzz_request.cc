// libFuzzer target for the request path: arbitrary bytes as an uploaded image plus options
// (output format, quality, tile size) go through what the server does with them: decode with
// limits (libvips), tile planning and every tile task on an engine, encode. Any input must end
// in a result or a scales::Error; a crash, hang, leak or memory error is a bug (ASan + UBSan).
//
// Input layout: byte 0 = format and tile selector, byte 1 = quality, the rest = image bytes.
// The model is a tiny synthetic SCALES-EDSR (1 block, 4 channels, every component), so each
// execution stays fast; the limits keep decoded images at 64x64 or less.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vips/vips8>

#include "model/synthetic.h"
#include "net/edsr.h"
#include "scales/engine.h"
#include "scales/imageio.h"

namespace {
struct Fixture {
  std::shared_ptr<const scales::Model> model;
  std::unique_ptr<scales::Engine> engine;
  Fixture() {
    VIPS_INIT("fuzz_request");
    vips_cache_set_max(0);
    scales::model::SyntheticSpec s;
    s.blocks = 1;
    s.channels = 4;
    model = std::make_shared<scales::Model>(scales::net::make_edsr(scales::model::synthetic_edsr(s)));
    engine = std::make_unique<scales::Engine>(scales::EngineOptions{1, "", 0});
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fx;
  if (size < 2) return 0;
  const scales::imageio::Format formats[] = {scales::imageio::Format::png, scales::imageio::Format::jpeg,
                                             scales::imageio::Format::webp, scales::imageio::Format::tiff};
  const scales::imageio::Format format = formats[data[0] & 3];
  const int tile = 4 + (data[0] >> 2);  // 4..67
  const int quality = 1 + data[1] % 100;
  try {
    const auto d = scales::imageio::decode_buffer(data + 2, size - 2, "fuzz", {64 * 64, 64});
    scales::TileJob job(fx.model, d.rgb, tile);
    fx.engine->run_to_end(job);
    const auto out = job.take_result();
    scales::imageio::encode_buffer(out, d.alpha, d.rgb.width, d.rgb.height,
                                   scales::imageio::encode_options(format, quality));
  } catch (const scales::Error&) {
  }
  return 0;
}
