#include "ort_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace scales::bench {

std::string fp_edsr_onnx(const std::string& dir, int scale, int blocks, int channels) {
  const std::string f =
      dir + "/fp-x" + std::to_string(scale) + "-b" + std::to_string(blocks) + "c" + std::to_string(channels) + ".onnx";
  if (!std::ifstream(f)) throw std::invalid_argument("no " + f + " (scales_train.onnx_export --front-dir " + dir + ")");
  return f;
}

std::string ort_module() {
  const char* m = std::getenv("SCALES_ORT_MODULE");
  return m && *m ? m : "bench/ort";
}

OrtRunner::OrtRunner(const std::string& worker, const std::string& node) {
  if (access(worker.c_str(), R_OK) != 0)
    throw std::runtime_error("ONNX Runtime worker not found at " + worker + " (run from the repository root)");
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]);
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  std::vector<char*> argv = {const_cast<char*>(node.c_str()), const_cast<char*>(worker.c_str()), nullptr};
  const int rc = posix_spawnp(&pid_, node.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]), close(out[0]);
    throw std::runtime_error("cannot start '" + node + "' for the ONNX Runtime worker");
  }
  to_ = fdopen(in[1], "w");
  from_ = fdopen(out[0], "r");
}

OrtRunner::~OrtRunner() {
  if (to_) fclose(to_);  // end of input: the worker finishes its queue and exits
  if (from_) fclose(from_);
  if (pid_ > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

double OrtRunner::time_ms(const std::string& model, int width, int height, int threads) {
  const nlohmann::json req = {{"model", model}, {"width", width}, {"height", height}, {"threads", threads}};
  const std::string line = req.dump() + "\n";
  // A worker that died leaves a closed pipe: the write fails with EPIPE rather than a signal.
  const auto old = signal(SIGPIPE, SIG_IGN);
  const bool sent = fputs(line.c_str(), to_) >= 0 && fflush(to_) == 0;
  signal(SIGPIPE, old);
  std::string reply;
  for (int c; sent && (c = fgetc(from_)) != EOF && c != '\n';) reply.push_back(static_cast<char>(c));
  if (!sent || reply.empty())
    throw std::runtime_error("the ONNX Runtime worker exited (is bench/ort installed? scripts/setup)");
  const auto r = nlohmann::json::parse(reply, nullptr, false);
  if (r.is_discarded()) throw std::runtime_error("ONNX Runtime worker: unreadable reply '" + reply + "'");
  if (r.contains("error")) throw std::runtime_error("ONNX Runtime: " + r["error"].get<std::string>());
  return r.at("ms").get<double>();
}

}  // namespace scales::bench
