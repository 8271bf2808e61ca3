// A chain of binary residual convs on the CPU (EDSR's body; one SwinIR group conv), one pass over
// rows per layer: kernel row -> epilogue (scales, residual, PReLU) -> the next layer's packed
// signs, s[p] and channel sums, so each feature row is touched once per layer. Rows go to the
// pool in fixed chunks, and channel sums add up per chunk in chunk order, so the result does not
// depend on the thread count.
#include <algorithm>
#include <utility>

#include "backend/cpu/ops.h"
#include "bconv/epilogue.h"
#include "bconv/pack.h"

namespace scales::backend::cpu {

namespace {

constexpr int kRowsPerChunk = 4;

// Brings n floats into L2 (one request per 64-byte line), marked for writing.
void prefetch_for_write(const float* p, size_t n) {
  const char* b = reinterpret_cast<const char*>(p);
  for (size_t i = 0; i < n * sizeof(float); i += 64) __builtin_prefetch(b + i, 1, 2);
}

int chunks(int rows) { return (rows + kRowsPerChunk - 1) / kRowsPerChunk; }

struct Map {  // one item's HWC map
  int h, w, c;
  float* data;
  float* row(int y) const { return data + static_cast<size_t>(y) * w * c; }
};

// Channel factors of op `o` from the item's own sums, or from the image's (plan.use); in collect
// mode the core's sums of the layer input are added to plan.collect first.
std::vector<float> layer_cfac(const net::op::BinaryResidual& o, int stats_slots, const Map& x,
                              const std::vector<double>& item_sums, net::Runtime& rt, const net::StatsPlan& plan) {
  const bconv::ScalesParams& p = *o.layer->p;
  if (p.fc1_w.empty()) return {};
  const int slot = o.stats_slot;
  if (slot >= 0 && plan.collect) {
    auto& acc = plan.collect->layer_sums;
    if (acc.size() < static_cast<size_t>(stats_slots)) acc.resize(stats_slots);
    if (acc[slot].empty()) acc[slot].assign(x.c, 0.0);
    const tile::Rect& r = plan.core;
    std::vector<std::vector<double>> part(chunks(r.height()), std::vector<double>(x.c, 0.0));
    rt.pool.parallel_for(static_cast<int>(part.size()), [&](int ch) {
      for (int y = r.y0 + ch * kRowsPerChunk; y < std::min(r.y1, r.y0 + (ch + 1) * kRowsPerChunk); ++y)
        for (int xx = r.x0; xx < r.x1; ++xx) {
          const float* q = x.row(y) + static_cast<size_t>(xx) * x.c;
          for (int c = 0; c < x.c; ++c) part[ch][c] += q[c];
        }
    });
    for (const auto& q : part)
      for (int c = 0; c < x.c; ++c) acc[slot][c] += q[c];
  }
  if (slot >= 0 && plan.use) return bconv::channel_factors(p, plan.use->layer_sums.at(slot), 1.0 * plan.use->pixels);
  return bconv::channel_factors(p, item_sums, 1.0 * x.h * x.w);
}

void run_item(std::span<const net::Op> chain, int stats_slots, const Map& x, const net::StatsPlan& plan,
              const net::LayerTap* tap, net::Runtime& rt) {
  const int h = x.h, w = x.w, c = x.c, words = (c + 63) / 64;
  const int n_chunks = chunks(h);
  auto layer = [&](size_t k) { return chain[k].as<net::op::BinaryResidual>(); };
  bconv::PackedMap cur, nxt;
  for (auto* m : {&cur, &nxt}) {
    m->height = h;
    m->width = w;
    m->words = words;
    m->bits.assign(static_cast<size_t>(h + 2) * (w + 2) * words, 0);  // border stays 0 (= +1)
  }
  auto packed_row = [&](bconv::PackedMap& m, int y) {
    return m.bits.data() + (static_cast<size_t>(y + 1) * (w + 2) + 1) * words;
  };
  std::vector<float> s_cur(static_cast<size_t>(h) * w), s_nxt(s_cur.size());
  std::vector<std::vector<double>> sums(n_chunks, std::vector<double>(c));
  auto total_sums = [&] {
    std::vector<double> t(c, 0.0);
    for (const auto& s : sums)
      for (int ch = 0; ch < c; ++ch) t[ch] += s[ch];
    return t;
  };

  // The first layer's inputs: a pass of its own.
  rt.pool.parallel_for(n_chunks, [&](int ch) {
    std::fill(sums[ch].begin(), sums[ch].end(), 0.0);
    for (int y = ch * kRowsPerChunk; y < std::min(h, (ch + 1) * kRowsPerChunk); ++y)
      bconv::prepare_row(*layer(0)->layer->p, rt.kernel.pack, x.row(y), w, c, packed_row(cur, y),
                         s_cur.data() + size_t(y) * w, sums[ch].data());
  });
  std::vector<float> cfac = layer_cfac(*layer(0), stats_slots, x, total_sums(), rt, plan);

  for (size_t li = 0; li < chain.size(); ++li) {
    const net::op::BinaryResidual& L = *layer(li);
    const bconv::ScalesParams* next = li + 1 < chain.size() ? layer(li + 1)->layer->p : nullptr;
    const bool spatial = !L.layer->p->spatial_w.empty(), channel = !cfac.empty();
    rt.pool.parallel_for(n_chunks, [&](int ch) {
      // One kernel-row buffer per thread, kept between chunks and layers: in L2 when the
      // epilogue reads it, and never zero-filled again (a fresh vector per chunk cleared 135 MB
      // per x2 pass at 256x256).
      thread_local std::vector<int32_t> ybin;
      ybin.resize(static_cast<size_t>(w) * c);
      if (next) std::fill(sums[ch].begin(), sums[ch].end(), 0.0);
      for (int y = ch * kRowsPerChunk; y < std::min(h, (ch + 1) * kRowsPerChunk); ++y) {
        // The epilogue below reads and rewrites this row of the residual map, which is far out of
        // cache by now (the map is 16 MB at 256x256x64): asking for it before the kernel row, which
        // touches only packed bits and weights, hides that read behind the popcounts.
        prefetch_for_write(x.row(y), static_cast<size_t>(w) * c);
        rt.kernel.row(cur, L.layer->weights, y, ybin.data());
        const float* s_here = spatial ? s_cur.data() + size_t(y) * w : nullptr;
        const float* slope = L.prelu ? L.prelu->data() : nullptr;
        if (rt.kernel.epilogue_prepare) {  // one pass over the row
          rt.kernel.epilogue_prepare(L.layer->gk.data(), s_here, channel ? cfac.data() : nullptr, ybin.data(), slope, w,
                                     c, x.row(y), next, next ? packed_row(nxt, y) : nullptr,
                                     s_nxt.data() + size_t(y) * w, sums[ch].data());
          continue;
        }
        bconv::epilogue_row(L.layer->gk.data(), s_here, channel ? cfac.data() : nullptr, ybin.data(), slope, w, c,
                            x.row(y));
        if (next)
          bconv::prepare_row(*next, rt.kernel.pack, x.row(y), w, c, packed_row(nxt, y), s_nxt.data() + size_t(y) * w,
                             sums[ch].data());
      }
    });
    if (tap && !chain[li].tap.empty()) (*tap)(chain[li].tap, h, w, c, x.data);
    if (next) {
      std::swap(cur, nxt);
      std::swap(s_cur, s_nxt);
      cfac = layer_cfac(*layer(li + 1), stats_slots, x, total_sums(), rt, plan);
    }
  }
}

}  // namespace

void binary_residual_chain(std::span<const net::Op> chain, int stats_slots, Batch& b, Tensor& x, net::Runtime& rt) {
  for (int i = 0; i < b.size(); ++i)
    run_item(chain, stats_slots, Map{x.h, x.w, x.c, x.item(i)}, b.plans[i], i == 0 ? b.tap : nullptr, rt);
}

}  // namespace scales::backend::cpu
