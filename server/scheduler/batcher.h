// Batch formation as a pure function: given the tiles waiting (per request, in arrival order)
// and the time, which tiles form the next batch, or how long to wait. No threads, no clock of
// its own, no gRPC: tested with a fake clock (tests/server/test_batcher.cc).
//
// Policy (quick requests first, then arrival order, with a starvation guard; issue 20's tail
// latency):
//   - tiles wait in groups of one batch key (the engine's: the same network and, on a device, the
//     same window size; Engine::batch_key), so every batch formed here runs as one engine batch;
//   - a quick request (an input image of at most `quick_pixels`) goes before the others: a small
//     image meets a nearly idle machine instead of sharing it with every huge one. Quick is
//     decided on the input image, not on work: by work, a 256x256 x4 request equals a 512x512 x2
//     one, and counting those as quick put half the mixed load's work in the quick class, which
//     then queued its own small requests for 10 s;
//   - among quick requests, the earliest virtual deadline first: arrival plus `quick_slack` per
//     unit of work left (its waiting tiles times their cost, plus work not ready yet, such as a
//     two-pass image's second pass). Smaller work goes first, as shortest-job-first would, but
//     only by the slack: pure shortest-first let a stream of tiny requests hold back a 256x256 x4
//     one for 10 s under the mixed load;
//   - the other requests go in arrival order: among large requests the oldest first, which keeps
//     their worst case (the p99) lowest;
//   - a request that has waited `starvation` since it arrived goes before all of those, oldest
//     first, so a flood of quick requests delays a large one by a bounded time only;
//   - ties go to the group served least recently (last_served);
//   - a batch forms when that key has max_batch tiles waiting (or its engine limit, if smaller), or
//     its oldest tile has waited max_delay; otherwise the caller waits until then (or until new
//     tiles arrive);
//   - tiles are taken in the same order (a request's tiles together, the next request's after),
//     and a CPU batch (a key without an engine limit: its tiles run one after another) stops once
//     it holds max_batch_cost of work, so a newcomer waits for one short batch, not eight big
//     tiles.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace scales::server {

using SchedClock = std::chrono::steady_clock;

struct BatchPolicy {
  int max_batch = 8;
  std::chrono::microseconds max_delay{2000};
  std::chrono::milliseconds starvation{30000};  // from arrival: then a request goes before all others
  double quick_pixels = 0;                      // requests with inputs of at most this many pixels go first
  std::chrono::duration<double> quick_slack{
      2.5e-7};                // a quick request's deadline slack per unit of work (s per output pixel)
  double max_batch_cost = 0;  // CPU batches stop at this much work (tile costs); 0: no cap
};

struct WaitingTile {
  uint64_t request = 0;
  int task = 0;
  SchedClock::time_point since;  // when it became ready
};

// One request's waiting tiles of one batch key (a request may have several groups).
struct WaitingRequest {
  uint64_t request = 0;
  std::string key;                     // the batch key, as a string (equal keys batch together)
  std::deque<WaitingTile> tiles;       // FIFO
  SchedClock::time_point last_served;  // arrival, then when it last had a tile taken
  size_t limit = 0;                    // the engine's batch limit for this key; 0: none (the CPU)
  SchedClock::time_point arrived;      // when the request arrived (the starvation guard's clock)
  double tile_cost = 1;                // work per tile, any unit shared by all requests (output pixels)
  double later = 0;                    // the request's work not waiting yet (a second pass)
  double in_pixels = 0;                // the request's input image, width x height (quick or not)

  double remaining() const { return static_cast<double>(tiles.size()) * tile_cost + later; }
};

struct BatchDecision {
  std::string key;
  std::vector<WaitingTile> batch;  // empty: nothing to run now
  SchedClock::time_point wake_at = SchedClock::time_point::max();
};

// The last_served a newly arriving request starts with: just before every waiting request, so
// it is served in the next batch and then joins the rotation.
SchedClock::time_point arrival_rank(const std::vector<WaitingRequest>& waiting, SchedClock::time_point now);

// Takes the batch's tiles out of `waiting` (and drops requests left without tiles).
BatchDecision next_batch(std::vector<WaitingRequest>& waiting, SchedClock::time_point now, const BatchPolicy& policy);

}  // namespace scales::server
