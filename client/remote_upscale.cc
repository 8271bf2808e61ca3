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

// One image through UpscaleStream; returns the status and fills `out`.
grpc::Status upscale_once(v1::Upscaler::Stub& stub, const std::string& bytes, const Options& opt,
                          imageio::Format format, std::string& out) {
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
  size_t pos = 0;
  do {  // the first message carries the options, every message a chunk (an empty file: none)
    const size_t n = std::min(kChunk, bytes.size() - pos);
    req.set_chunk(bytes.data() + pos, n);
    pos += n;
    if (!stream->Write(req)) break;
    req.clear_options();
  } while (pos < bytes.size());
  stream->WritesDone();
  out.clear();
  v1::UpscaleStreamResponse resp;
  while (stream->Read(&resp)) out += resp.chunk();
  return stream->Finish();
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
      std::ifstream f(j.in, std::ios::binary);
      if (!f) {
        progress.done(j.in.string(), j.out.string(), false, j.in.string() + ": cannot read");
        continue;
      }
      const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      std::string result;
      grpc::Status st;
      for (int attempt = 0;; ++attempt) {
        st = upscale_once(*stub, bytes, opt, j.format, result);
        const bool retry = st.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
                            st.error_message().find("retry later") != std::string::npos);
        if (!retry || attempt >= opt.retries) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
      }
      if (!st.ok()) {
        progress.done(j.in.string(), j.out.string(), false, j.in.string() + ": " + st.error_message());
        continue;
      }
      try {
        fs::create_directories(j.out.parent_path().empty() ? fs::path(".") : j.out.parent_path());
        std::ofstream o(j.out, std::ios::binary);
        o.write(result.data(), static_cast<std::streamsize>(result.size()));
        if (!o) throw Error(j.out.string() + ": cannot write");
        progress.done(j.in.string(), j.out.string(), true);
      } catch (const std::exception& e) {
        progress.done(j.in.string(), j.out.string(), false, e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, opt.jobs); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return progress.summary() ? 1 : 0;
}

}  // namespace scales::client
