#include "central/api/metrics.hpp"

#include <charconv>
#include <cmath>

#include "central/api/render.hpp"

namespace schoolnet::central::api {

namespace {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

class Labels {
 public:
  Labels& add(std::string_view key, std::string_view value) {
    text_ += text_.empty() ? "{" : ",";
    text_ += key;
    text_ += "=\"";
    text_ += escape_label_value(value);
    text_ += '"';
    return *this;
  }
  std::string str() const { return text_.empty() ? std::string() : text_ + "}"; }

 private:
  std::string text_;
};

void sample(std::string& out, std::string_view name, const Labels& labels, double value) {
  out += name;
  out += labels.str();
  out += ' ';
  out += format_sample(value);
  out += '\n';
}

Labels probe_labels(const std::string& school, const ProbeState& p) {
  std::string_view kind = "unspecified";
  std::string_view target;
  if (p.sample) {
    kind = kind_name(p.sample->kind());
    target = p.sample->target();
  } else if (p.window) {
    kind = kind_name(p.window->summary.kind());
    target = p.window->summary.target();
  }
  Labels l;
  l.add("school_id", school).add("probe", p.name).add("kind", kind).add("target", target);
  return l;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_sample(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  // Whole numbers (counters, unix seconds) print as integers rather than "1.7e+09".
  if (value == std::trunc(value) && std::fabs(value) < 9.007199254740992e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) {
    return "NaN";
  }
  return std::string(buf, p);
}

std::string render_metrics(const std::vector<SchoolMetrics>& schools,
                           const ingest::IngestCounters& counters) {
  std::string out;
  family(out, "schoolnet_school_last_seen_timestamp_seconds", "gauge",
         "Time central last received a batch from the school (unix seconds).");
  for (const SchoolMetrics& s : schools) {
    sample(out, "schoolnet_school_last_seen_timestamp_seconds",
           Labels().add("school_id", s.summary.school_id),
           static_cast<double>(s.summary.last_seen_ms) / 1000.0);
  }
  family(out, "schoolnet_school_devices", "gauge", "Devices known at the school.");
  for (const SchoolMetrics& s : schools) {
    sample(out, "schoolnet_school_devices", Labels().add("school_id", s.summary.school_id),
           static_cast<double>(s.summary.device_count));
  }
  family(out, "schoolnet_school_agents", "gauge", "Agents that have reported for the school.");
  for (const SchoolMetrics& s : schools) {
    sample(out, "schoolnet_school_agents", Labels().add("school_id", s.summary.school_id),
           static_cast<double>(s.summary.agent_count));
  }
  family(out, "schoolnet_probe_up", "gauge",
         "1 when the probe's latest observation succeeded, else 0. Left out while that "
         "observation reached central late (a backlog after an outage): history is no alarm.");
  for (const SchoolMetrics& s : schools) {
    for (const ProbeState& p : s.probes) {
      const int64_t observed = p.sample ? p.observed_ms : (p.window ? p.window->observed_ms : 0);
      const int64_t received = p.sample ? p.received_ms : (p.window ? p.window->received_ms : 0);
      if (received - observed > kLateAfterMs) {
        continue;
      }
      const bool up = p.sample ? p.sample->ok() : (p.window && p.window->summary.failures() == 0);
      sample(out, "schoolnet_probe_up", probe_labels(s.summary.school_id, p), up ? 1 : 0);
    }
  }
  family(out, "schoolnet_probe_latency_seconds", "gauge",
         "Latency of the probe's latest observation (the median of its window when only "
         "summaries arrived).");
  for (const SchoolMetrics& s : schools) {
    for (const ProbeState& p : s.probes) {
      const double ms =
          p.sample ? p.sample->latency_ms() : (p.window ? p.window->summary.latency_p50_ms() : 0.0);
      sample(out, "schoolnet_probe_latency_seconds", probe_labels(s.summary.school_id, p),
             ms / 1000.0);
    }
  }
  family(out, "schoolnet_probe_observed_timestamp_seconds", "gauge",
         "Time the probe's latest state was observed at the school (unix seconds).");
  for (const SchoolMetrics& s : schools) {
    for (const ProbeState& p : s.probes) {
      const int64_t ms = p.sample ? p.observed_ms : (p.window ? p.window->observed_ms : 0);
      sample(out, "schoolnet_probe_observed_timestamp_seconds",
             probe_labels(s.summary.school_id, p), static_cast<double>(ms) / 1000.0);
    }
  }

  family(out, "schoolnet_ingest_requests_total", "counter",
         "Upload requests answered, by HTTP status code.");
  for (const auto& [code, n] : counters.requests()) {
    sample(out, "schoolnet_ingest_requests_total", Labels().add("code", std::to_string(code)),
           static_cast<double>(n));
  }
  family(out, "schoolnet_ingest_records_total", "counter", "Records stored from uploads.");
  sample(out, "schoolnet_ingest_records_total", Labels(), static_cast<double>(counters.records()));
  family(out, "schoolnet_ingest_duplicates_total", "counter",
         "Uploads acknowledged again as duplicates (nothing stored).");
  sample(out, "schoolnet_ingest_duplicates_total", Labels(),
         static_cast<double>(counters.duplicates()));
  family(out, "schoolnet_ingest_duration_seconds", "histogram",
         "Time to decode, check and store an accepted upload.");
  const auto h = counters.latency();
  for (size_t i = 0; i < ingest::IngestCounters::kLatencyBuckets.size(); ++i) {
    sample(out, "schoolnet_ingest_duration_seconds_bucket",
           Labels().add("le", format_sample(ingest::IngestCounters::kLatencyBuckets[i])),
           static_cast<double>(h.cumulative[i]));
  }
  sample(out, "schoolnet_ingest_duration_seconds_bucket", Labels().add("le", "+Inf"),
         static_cast<double>(h.count));
  sample(out, "schoolnet_ingest_duration_seconds_sum", Labels(), h.sum);
  sample(out, "schoolnet_ingest_duration_seconds_count", Labels(), static_cast<double>(h.count));
  return out;
}

}  // namespace schoolnet::central::api
