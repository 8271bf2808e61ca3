// `scales-upscale --server TARGET`: the same file handling as --local, each image sent to
// scales-server through UpscaleStream (chunked both ways, so no size limit on either side),
// `jobs` files in flight, retries with exponential backoff while the server is unavailable or
// its queue is full.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "channel.h"
#include "local_upscale.h"
#include "plan.h"
#include "progress.h"
#include "scales/types.h"
#include "scales/v1/format.h"
#include "scales/v1/upscaler.grpc.pb.h"

namespace fs = std::filesystem;
namespace v1 = scales::v1;

namespace scales::client {

namespace {

constexpr size_t kChunk = size_t{1} << 20;

// One image through UpscaleStream, both ways in 1 MiB chunks straight from and to the files:
// the input is read as it is sent, and the result written to `part` as its chunks arrive (the
// server sends them while the image is still being upscaled), so neither is held whole here.
grpc::Status upscale_once(v1::Upscaler::Stub& stub, const fs::path& in, const fs::path& part, const Options& opt,
                          imageio::Format format) {
  std::ifstream f(in, std::ios::binary);
  if (!f) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, in.string() + ": cannot read");
  std::ofstream o(part, std::ios::binary | std::ios::trunc);
  if (!o) return grpc::Status(grpc::StatusCode::INTERNAL, part.string() + ": cannot create");
  grpc::ClientContext ctx;
  if (!opt.token.empty()) ctx.AddMetadata("authorization", "Bearer " + opt.token);
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(opt.deadline_s * 1000)));
  auto stream = stub.UpscaleStream(&ctx);
  v1::UpscaleStreamRequest req;
  req.mutable_options()->set_model(opt.model);
  req.mutable_options()->set_scale(opt.scale);
  req.mutable_options()->set_format(v1::to_proto(format));
  req.mutable_options()->set_quality(opt.quality);
  std::string chunk(kChunk, '\0');
  for (bool first = true;; first = false) {  // the first message carries the options (an empty file: no chunk)
    f.read(chunk.data(), static_cast<std::streamsize>(kChunk));
    const auto n = static_cast<size_t>(f.gcount());
    if (n == 0 && !first) break;
    req.set_chunk(chunk.data(), n);
    if (!stream->Write(req)) break;
    req.clear_options();
    if (n < kChunk) break;
  }
  stream->WritesDone();
  v1::UpscaleStreamResponse resp;
  bool write_failed = false;
  while (stream->Read(&resp))
    if (!write_failed && !o.write(resp.chunk().data(), static_cast<std::streamsize>(resp.chunk().size()))) {
      write_failed = true;
      ctx.TryCancel();  // no point receiving the rest
    }
  grpc::Status st = stream->Finish();
  o.close();
  if (st.ok() && (write_failed || !o))
    return grpc::Status(grpc::StatusCode::INTERNAL, part.string() + ": cannot write (disk full?)");
  return st;
}

}  // namespace

int run_remote(const Options& opt) {
  std::vector<FileJob> jobs;
  try {
    jobs = plan_jobs(opt.input, opt.output, opt.format);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  std::shared_ptr<grpc::Channel> channel;
  try {
    channel = make_channel(opt.server, opt.tls_ca);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  auto stub = v1::Upscaler::NewStub(channel);
  Progress progress(jobs.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      const FileJob& j = jobs[i];
      if (opt.skip_existing && fs::exists(j.out)) {
        progress.done(j.in.string(), j.out.string(), true, "", true);
        continue;
      }
      // Written under a temporary name, renamed when complete: a failure leaves no partial file.
      const fs::path part = j.out.string() + ".part";
      grpc::Status st;
      try {
        fs::create_directories(j.out.parent_path().empty() ? fs::path(".") : j.out.parent_path());
        for (int attempt = 0;; ++attempt) {
          st = upscale_once(*stub, j.in, part, opt, j.format);
          const bool retry = st.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
                              st.error_message().find("retry later") != std::string::npos);
          if (!retry || attempt >= opt.retries) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
        }
        if (st.ok()) fs::rename(part, j.out);
      } catch (const std::exception& e) {
        st = grpc::Status(grpc::StatusCode::INTERNAL, e.what());
      }
      if (!st.ok()) {
        std::error_code ec;
        fs::remove(part, ec);
        const std::string msg = st.error_message();
        progress.done(j.in.string(), j.out.string(), false,
                      msg.rfind(j.in.string(), 0) == 0 ? msg : j.in.string() + ": " + msg);
        continue;
      }
      progress.done(j.in.string(), j.out.string(), true);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, opt.jobs); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return progress.summary() ? 1 : 0;
}

}  // namespace scales::client
