// Ingest counters for /metrics: requests by status, records and duplicates, and a latency
// histogram. Updated from every server thread; read by the metrics renderer.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>

namespace schoolnet::central::ingest {

class IngestCounters {
 public:
  // Upper bounds of the latency histogram buckets, seconds (+Inf is implied).
  static constexpr std::array<double, 11> kLatencyBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  void count_request(int status);
  void add_records(uint64_t n) { records_.fetch_add(n, std::memory_order_relaxed); }
  void add_duplicate() { duplicates_.fetch_add(1, std::memory_order_relaxed); }
  void observe_latency(double seconds);

  std::map<int, uint64_t> requests() const;
  uint64_t records() const { return records_.load(std::memory_order_relaxed); }
  uint64_t duplicates() const { return duplicates_.load(std::memory_order_relaxed); }

  struct Histogram {
    std::array<uint64_t, kLatencyBuckets.size()> cumulative{};  // per bucket, cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  Histogram latency() const;

 private:
  mutable std::mutex mutex_;
  std::map<int, uint64_t> requests_;
  std::array<uint64_t, kLatencyBuckets.size()> buckets_{};
  uint64_t latency_count_ = 0;
  double latency_sum_ = 0;
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> duplicates_{0};
};

}  // namespace schoolnet::central::ingest
