#include "central/ingest/counters.hpp"

namespace schoolnet::central::ingest {

void IngestCounters::count_request(int status) {
  std::lock_guard lock(mutex_);
  ++requests_[status];
}

void IngestCounters::observe_latency(double seconds) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) {
      ++buckets_[i];
      break;
    }
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

std::map<int, uint64_t> IngestCounters::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

IngestCounters::Histogram IngestCounters::latency() const {
  std::lock_guard lock(mutex_);
  Histogram h;
  uint64_t running = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    running += buckets_[i];
    h.cumulative[i] = running;
  }
  h.count = latency_count_;
  h.sum = latency_sum_;
  return h;
}

}  // namespace schoolnet::central::ingest
