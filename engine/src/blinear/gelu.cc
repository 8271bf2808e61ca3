// gelu_rows, the generic form (gelu.h); built with -ffp-contract=off, as the vector forms.
#include "blinear/gelu.h"

namespace scales::blinear {

void gelu_rows(float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = gelu(y[i]);
}

}  // namespace scales::blinear
