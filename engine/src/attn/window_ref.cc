#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attn/window.h"

namespace scales::attn {

bool fused_fits(int n, int c, int heads, int lanes, int64_t tokens_in_map) {
  if (heads <= 0 || c % heads || lanes <= 0) return false;
  const int hd = c / heads;
  return n > 0 && n % lanes == 0 && n <= kMaxTokens && hd >= 1 && hd <= kMaxHeadDim &&
         tokens_in_map * 3 * c < std::numeric_limits<int32_t>::max();
}

// The definition, one query at a time, in the order the fused kernels also use: the dot product
// first, then + bias, then the mask; out = (sum_j e_j v_j) / (sum_j e_j).
void window_ref(const WindowArgs& a) {
  const int n = a.n, c = a.c, hd = c / a.heads;
  std::vector<float> s(n);
  auto row = [&](int i) { return static_cast<size_t>(a.qkv_row ? a.qkv_row[i] : a.token[i]) * 3 * c; };
  for (int h = 0; h < a.heads; ++h) {
    const float* bt = a.bias_t + static_cast<size_t>(h) * n * n;
    for (int i = 0; i < n; ++i) {
      const float* q = a.qkv + row(i) + h * hd;
      float mx = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < n; ++j) {
        const float* k = a.qkv + row(j) + c + h * hd;
        float acc = 0.0f;
        for (int d = 0; d < hd; ++d) acc += (q[d] * a.scale) * k[d];
        float v = acc + bt[static_cast<size_t>(j) * n + i];
        if (a.region && a.region[i] != a.region[j]) v = v + -100.0f;
        s[j] = v;
        mx = std::max(mx, v);
      }
      float sum = 0.0f;
      for (int j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - mx));
      float* o = a.out + static_cast<size_t>(a.token[i]) * c + h * hd;
      for (int d = 0; d < hd; ++d) {
        float acc = 0.0f;
        for (int j = 0; j < n; ++j) acc += s[j] * a.qkv[row(j) + 2 * c + h * hd + d];
        o[d] = acc / sum;
      }
    }
  }
}

}  // namespace scales::attn
