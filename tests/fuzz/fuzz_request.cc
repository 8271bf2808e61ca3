// libFuzzer target for the request path: arbitrary bytes as an uploaded image plus options go
// through the server's own call pipeline (server/call.h: options parsed once, decode with limits,
// the tile scheduler and its engine workers, encode). Any input must end in a reply, OK or a
// named error; a crash, hang, leak or memory error is a bug (ASan + UBSan).
//
// Input layout: byte 0 = the API's output format (bits 0-2: 0-4 defined, 5-7 unknown and refused)
// and the tile size (bits 3-4: 5, 9 or 17 LR pixels, or automatic), byte 1 = quality (0 = the
// default; over 100 refused), the rest = image bytes. The model is a tiny synthetic SCALES-EDSR (1
// block, 4 channels, every component), so each execution stays fast; the limits keep decoded
// images at 64x64 or less.
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <vips/vips8>

#include "call.h"
#include "model/synthetic.h"
#include "net/edsr.h"

namespace {

using namespace scales::server;

struct Fixture {
  Registry registry;
  IoPool io{1, 16};
  std::vector<std::unique_ptr<Scheduler>> schedulers;  // one per tile size
  std::vector<std::unique_ptr<CallContext>> contexts;

  Fixture() {
    VIPS_INIT("fuzz_request");
    vips_cache_set_max(0);
    scales::model::SyntheticSpec s;
    s.blocks = 1;
    s.channels = 4;
    auto m = std::make_shared<ServedModel>();
    m->name = "tiny";
    m->model = std::make_shared<scales::Model>(scales::net::make_edsr(scales::model::synthetic_edsr(s)));
    registry.serve({m});
    for (int tile : {5, 9, 17, 0}) {
      Scheduler::Options o;
      o.tile = tile;
      schedulers.push_back(std::make_unique<Scheduler>(o));
      contexts.push_back(std::make_unique<CallContext>(
          CallContext{registry, io, *schedulers.back(), nullptr, scales::imageio::Limits{64 * 64, 64}}));
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fx;
  if (size < 2) return 0;
  CallRequest req;
  req.bytes = std::string_view(reinterpret_cast<const char*>(data + 2), size - 2);
  req.options.set_model("tiny");
  req.options.set_format(static_cast<scales::v1::Format>(data[0] & 7));
  req.options.set_quality(data[1]);
  std::promise<CallResult> done;
  // The first stage runs here, as on an I/O pool thread; the reply comes from the pool or here.
  start_call(*fx.contexts[(data[0] >> 3) & 3], std::move(req), [&](CallResult r) { done.set_value(std::move(r)); });
  const CallResult r = done.get_future().get();
  if (r.code == Code::ok && r.image.empty()) __builtin_trap();    // an OK reply carries an image
  if (r.code != Code::ok && r.message.empty()) __builtin_trap();  // an error names what is wrong
  return 0;
}
