#include "scheduler/batcher.h"

#include <algorithm>

namespace scales::server {

SchedClock::time_point arrival_rank(const std::vector<WaitingRequest>& waiting, SchedClock::time_point now) {
  SchedClock::time_point t = now;
  for (const auto& r : waiting)
    if (!r.tiles.empty()) t = std::min(t, r.last_served - SchedClock::duration(1));
  return t;
}

namespace {
// Whether `a` goes before `b` (both with tiles waiting): starving requests first, oldest first;
// then quick ones (a small input image), earliest virtual deadline first (due()); then the rest, oldest first; ties to
// the least recently served.
struct Before {
  SchedClock::time_point now;
  const BatchPolicy& p;
  // A quick request's virtual deadline: arrival plus a slack that grows with its work left, so a
  // smaller one goes first unless a larger one has already waited the difference.
  SchedClock::time_point due(const WaitingRequest& r) const {
    return r.arrived + std::chrono::duration_cast<SchedClock::duration>(p.quick_slack * r.remaining());
  }
  int rank(const WaitingRequest& r) const {
    if (now - r.arrived >= p.starvation) return 0;
    return r.in_pixels <= p.quick_pixels ? 1 : 2;
  }
  bool operator()(const WaitingRequest* a, const WaitingRequest* b) const {
    const int ra = rank(*a), rb = rank(*b);
    if (ra != rb) return ra < rb;
    if (ra == 1) {
      const auto da = due(*a), db = due(*b);
      if (da != db) return da < db;
    } else if (a->arrived != b->arrived) {
      return a->arrived < b->arrived;
    }
    return a->last_served < b->last_served;
  }
};
}  // namespace

BatchDecision next_batch(std::vector<WaitingRequest>& waiting, SchedClock::time_point now, const BatchPolicy& policy) {
  BatchDecision d;
  const Before before{now, policy};
  // The first group in that order chooses the key.
  const WaitingRequest* first = nullptr;
  for (const auto& r : waiting)
    if (!r.tiles.empty() && (!first || before(&r, first))) first = &r;
  if (!first) return d;
  const std::string key = first->key;
  const bool cpu = first->limit == 0;
  size_t max_batch = static_cast<size_t>(std::max(1, policy.max_batch));
  if (!cpu) max_batch = std::min(max_batch, first->limit);

  size_t count = 0;
  SchedClock::time_point oldest_since = SchedClock::time_point::max();
  std::vector<WaitingRequest*> order;  // this key's groups
  for (auto& r : waiting)
    if (r.key == key && !r.tiles.empty()) {
      count += r.tiles.size();
      oldest_since = std::min(oldest_since, r.tiles.front().since);
      order.push_back(&r);
    }
  if (count < max_batch && now - oldest_since < policy.max_delay) {
    d.wake_at = oldest_since + policy.max_delay;
    return d;
  }
  std::stable_sort(order.begin(), order.end(), before);

  d.key = key;
  double cost = 0;
  for (WaitingRequest* r : order) {
    while (!r->tiles.empty() && d.batch.size() < max_batch) {
      if (cpu && policy.max_batch_cost > 0 && !d.batch.empty() && cost + r->tile_cost > policy.max_batch_cost) break;
      d.batch.push_back(r->tiles.front());
      r->tiles.pop_front();
      r->last_served = now;
      cost += r->tile_cost;
    }
    if (d.batch.size() == max_batch || (cpu && policy.max_batch_cost > 0 && cost >= policy.max_batch_cost)) break;
  }
  waiting.erase(std::remove_if(waiting.begin(), waiting.end(), [](const WaitingRequest& r) { return r.tiles.empty(); }),
                waiting.end());
  return d;
}

}  // namespace scales::server
