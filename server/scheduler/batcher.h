// Batch formation as a pure function: given the tiles waiting (per request, in arrival order)
// and the time, which tiles form the next batch, or how long to wait. No threads, no clock of
// its own, no gRPC: tested with a fake clock (tests/server/test_batcher.cc).
//
// Policy:
//   - tiles wait in groups of one batch key (the engine's: the same network and, on a device, the
//     same window size; Engine::batch_key), so every batch formed here runs as one engine batch;
//   - the group served least recently (last_served: arrival, then the time it last had a tile
//     taken) chooses the key, so no model starves another and a new small request goes next;
//   - a batch forms when that key has max_batch tiles waiting (or its engine limit, if smaller), or
//     its oldest tile has waited max_delay; otherwise the caller waits until then (or until new
//     tiles arrive);
//   - tiles are taken round-robin across that key's requests, least recently served first, one
//     per request per round, so a small request is never stuck behind a huge one (fair share).
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
  size_t limit = 0;                    // the engine's batch limit for this key; 0: none
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
