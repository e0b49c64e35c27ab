// Rolls probe samples up into per-probe, per-window summaries (count, failures, p50/p95/max
// latency, error classes): the resolution that survives a long outage when raw samples are
// evicted. Pure: the caller says what time it is.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::probes {

class SummaryWindow {
 public:
  explicit SummaryWindow(int64_t window_ms) : window_ms_(window_ms) {}

  // Adds a sample observed at wall time `wall_ms` (monotonic `mono_ms`). A sample whose window
  // has already been closed starts a new window for that probe (late samples are not lost).
  void add(const v1::ProbeSample& sample, int64_t wall_ms, int64_t mono_ms = 0);

  // Summaries of every window that ended at or before `wall_ms`, or that has been open for
  // longer than a window by the monotonic clock (so a wall clock stepped back cannot hold
  // summaries back for hours), or of every open window when `all` (shutdown, `once`).
  std::vector<v1::ProbeSummary> close(int64_t wall_ms, int64_t mono_ms = 0, bool all = false);

  size_t open_windows() const { return windows_.size(); }

 private:
  struct Acc {
    v1::ProbeSummary summary;
    int64_t opened_mono_ms = 0;
    std::vector<double> latencies;  // of successful attempts
  };
  int64_t window_ms_;
  std::map<std::pair<std::string, int64_t>, Acc> windows_;  // (probe, window start)
};

// Nearest-rank percentile of `values` (sorted in place); 0 for none.
double percentile(std::vector<double>& values, double p);

}  // namespace schoolnet::probes
