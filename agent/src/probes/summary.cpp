#include "probes/summary.hpp"

#include <algorithm>
#include <cmath>

namespace schoolnet::probes {

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

void SummaryWindow::add(const v1::ProbeSample& sample, int64_t wall_ms, int64_t mono_ms) {
  int64_t start = wall_ms - (wall_ms % window_ms_);
  if (wall_ms < 0 && wall_ms % window_ms_ != 0) {
    start -= window_ms_;
  }
  Acc& acc = windows_[{sample.name(), start}];
  v1::ProbeSummary& s = acc.summary;
  if (s.count() == 0) {
    acc.opened_mono_ms = mono_ms;
    s.set_name(sample.name());
    s.set_kind(sample.kind());
    s.set_target(sample.target());
    s.set_window_start_ms(start);
    s.set_window_ms(static_cast<uint32_t>(window_ms_));
  }
  s.set_count(s.count() + 1);
  if (sample.ok()) {
    acc.latencies.push_back(sample.latency_ms());
  } else {
    s.set_failures(s.failures() + 1);
    (*s.mutable_error_classes())[sample.error_class()] += 1;
    s.set_last_error(sample.error_class());
  }
}

std::vector<v1::ProbeSummary> SummaryWindow::close(int64_t wall_ms, int64_t mono_ms, bool all) {
  std::vector<v1::ProbeSummary> out;
  for (auto it = windows_.begin(); it != windows_.end();) {
    const int64_t end = it->first.second + window_ms_;
    const bool overdue = mono_ms > 0 && mono_ms - it->second.opened_mono_ms > window_ms_ + 5000;
    if (!all && end > wall_ms && !overdue) {
      ++it;
      continue;
    }
    Acc& acc = it->second;
    if (!acc.latencies.empty()) {
      acc.summary.set_latency_max_ms(*std::max_element(acc.latencies.begin(), acc.latencies.end()));
      acc.summary.set_latency_p95_ms(percentile(acc.latencies, 95));
      acc.summary.set_latency_p50_ms(percentile(acc.latencies, 50));
    }
    out.push_back(std::move(acc.summary));
    it = windows_.erase(it);
  }
  return out;
}

}  // namespace schoolnet::probes
