// The device backend factory of builds configured without CUDA (SCALES_CUDA=OFF or no nvcc).
#include "backend/backend.h"

namespace scales::backend {

bool cuda_built() { return false; }

std::unique_ptr<Backend> make_cuda_backend(int) {
  throw Error(
      "this build has no CUDA backend (configure with -DSCALES_CUDA=ON and a CUDA toolkit; "
      "scripts/test builds one as build-cuda/)");
}

}  // namespace scales::backend
