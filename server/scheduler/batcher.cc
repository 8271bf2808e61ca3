#include "scheduler/batcher.h"

#include <algorithm>

namespace scales::server {

SchedClock::time_point arrival_rank(const std::vector<WaitingRequest>& waiting, SchedClock::time_point now) {
  SchedClock::time_point t = now;
  for (const auto& r : waiting)
    if (!r.tiles.empty()) t = std::min(t, r.last_served - SchedClock::duration(1));
  return t;
}

BatchDecision next_batch(std::vector<WaitingRequest>& waiting, SchedClock::time_point now, const BatchPolicy& policy) {
  BatchDecision d;
  // The least recently served group chooses the key.
  const WaitingRequest* first = nullptr;
  for (const auto& r : waiting)
    if (!r.tiles.empty() && (!first || r.last_served < first->last_served)) first = &r;
  if (!first) return d;
  const std::string key = first->key;
  size_t max_batch = static_cast<size_t>(std::max(1, policy.max_batch));
  if (first->limit > 0) max_batch = std::min(max_batch, first->limit);

  size_t count = 0;
  SchedClock::time_point oldest_since = SchedClock::time_point::max();
  std::vector<WaitingRequest*> order;  // this key's groups, least recently served first
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
  std::stable_sort(order.begin(), order.end(),
                   [](const WaitingRequest* a, const WaitingRequest* b) { return a->last_served < b->last_served; });

  d.key = key;
  bool took = true;
  while (d.batch.size() < max_batch && took) {  // one tile per request per round
    took = false;
    for (WaitingRequest* r : order) {
      if (r->tiles.empty()) continue;
      d.batch.push_back(r->tiles.front());
      r->tiles.pop_front();
      r->last_served = now;
      took = true;
      if (d.batch.size() == max_batch) break;
    }
  }
  waiting.erase(std::remove_if(waiting.begin(), waiting.end(), [](const WaitingRequest& r) { return r.tiles.empty(); }),
                waiting.end());
  return d;
}

}  // namespace scales::server
