// Prometheus text exposition (format 0.0.4) of fleet state and ingest counters. Probe and
// device names are user data: every label value is escaped, so no name can break the format.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "central/ingest/counters.hpp"
#include "central/store/store.hpp"

namespace schoolnet::central::api {

struct SchoolMetrics {
  SchoolSummary summary;
  std::vector<ProbeState> probes;
};

// Backslash, double quote and newline escaped as the exposition format requires.
std::string escape_label_value(std::string_view value);

// A sample value: shortest round-trip decimal, or NaN / +Inf / -Inf.
std::string format_sample(double value);

std::string render_metrics(const std::vector<SchoolMetrics>& schools,
                           const ingest::IngestCounters& counters);

}  // namespace schoolnet::central::api
