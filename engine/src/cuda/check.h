// Every CUDA runtime and cuBLAS call is checked; a failure becomes scales::Error naming the call,
// the file and line and the library's own message. Launches are checked with SCALES_CUDA_LAUNCH
// (cudaGetLastError right after the launch).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "scales/types.h"

namespace scales::cuda {

[[noreturn]] inline void fail(const std::string& what, const char* file, int line, const std::string& msg) {
  throw Error("CUDA: " + what + " failed at " + file + ":" + std::to_string(line) + ": " + msg);
}

}  // namespace scales::cuda

#define SCALES_CUDA_CHECK(call)                                                                                       \
  do {                                                                                                                \
    const cudaError_t scales_err_ = (call);                                                                           \
    if (scales_err_ != cudaSuccess) ::scales::cuda::fail(#call, __FILE__, __LINE__, cudaGetErrorString(scales_err_)); \
  } while (0)

#define SCALES_CUBLAS_CHECK(call)                                                         \
  do {                                                                                    \
    const cublasStatus_t scales_st_ = (call);                                             \
    if (scales_st_ != CUBLAS_STATUS_SUCCESS)                                              \
      ::scales::cuda::fail(#call, __FILE__, __LINE__, cublasGetStatusString(scales_st_)); \
  } while (0)

#define SCALES_CUDA_LAUNCH() SCALES_CUDA_CHECK(cudaGetLastError())
