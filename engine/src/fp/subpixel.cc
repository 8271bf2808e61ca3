#include "fp/subpixel.h"

#include <algorithm>

namespace scales::fp {

ConvParams subpixel_major(const ConvParams& c, int r) {
  const int r2 = r * r, ch_out = c.out / r2;
  const size_t per_out = static_cast<size_t>(c.in) * 9;
  ConvParams p = c;  // in, precision and input ranges are unchanged
  for (int s = 0; s < r2; ++s)
    for (int ch = 0; ch < ch_out; ++ch) {
      const int from = ch * r2 + s, to = s * ch_out + ch;
      std::copy_n(c.weight.begin() + from * per_out, per_out, p.weight.begin() + to * per_out);
      p.bias[to] = c.bias[from];
    }
  return p;
}

}  // namespace scales::fp
