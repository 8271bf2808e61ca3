// The loop shape every vector form of a row uses: f(i, W) for each whole step [i, i + W) of
// [0, n), then f(i, n - i) for the last 1..W-1 elements if any. f is inlined, so its partial loads
// and stores (kernels/avx2_partial.h, neon_partial.h) lose their test where the width is the
// constant W. ISA-neutral.
#pragma once

namespace scales::kernels {

template <int W, class F>
inline void steps(int n, F&& f) {
  int i = 0;
  for (; i + W <= n; i += W) f(i, W);
  if (i < n) f(i, n - i);
}

}  // namespace scales::kernels
