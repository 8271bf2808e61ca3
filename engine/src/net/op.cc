#include "net/op.h"

#include <algorithm>

namespace scales::net {

std::vector<size_t> Program::last_uses() const {
  std::vector<size_t> last(tensors, 0);
  for (size_t i = 0; i < ops.size(); ++i)
    for (int t : {ops[i].x, ops[i].y})
      if (t >= 0) last[t] = i;
  return last;
}

std::vector<int> Op::inputs() const {
  std::vector<int> r;
  if (x >= 0) r.push_back(x);
  const op::Linear* lin = as<op::Linear>();
  if (y >= 0 && y != x && (as<op::Add>() || (lin && lin->accumulate))) r.push_back(y);
  return r;
}

const char* op_name(const Op& op) {
  static constexpr const char* names[] = {"input",         "conv",       "conv_shuffle", "binary_residual",
                                          "conv_residual", "layer_norm", "linear",       "window_attention",
                                          "add",           "copy",       "output"};
  static_assert(std::size(names) == std::variant_size_v<OpParams>);
  return names[op.params.index()];
}

}  // namespace scales::net
