#include "central/api/metrics.hpp"

#include <cmath>
#include <sstream>

#include <gtest/gtest.h>

namespace schoolnet::central::api {
namespace {

ProbeState probe(const std::string& name, const std::string& target, bool ok, double latency) {
  ProbeState p;
  p.name = name;
  v1::ProbeSample s;
  s.set_name(name);
  s.set_kind(v1::PROBE_KIND_DNS);
  s.set_target(target);
  s.set_ok(ok);
  s.set_latency_ms(latency);
  p.sample = s;
  p.observed_ms = 1'700'000'000'000;
  return p;
}

TEST(CentralMetrics, EscapesBackslashQuoteAndNewlineInLabelValues) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_label_value("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(escape_label_value("two\nlines"), "two\\nlines");
  EXPECT_EQ(escape_label_value("} 1\nfake_metric 2"), "} 1\\nfake_metric 2");
}

TEST(CentralMetrics, HostileProbeNamesCannotBreakTheFormat) {
  SchoolMetrics s;
  s.summary.school_id = "100001";
  s.summary.last_seen_ms = 1'700'000'000'500;
  s.summary.device_count = 3;
  s.probes.push_back(probe("evil\"} 1\nschoolnet_fake 1 #", "a\\b\n", false, 20));
  s.probes.push_back(probe("nan", "x", true, std::nan("")));
  ingest::IngestCounters counters;
  counters.count_request(200);
  counters.count_request(200);
  counters.count_request(413);
  const std::string text = render_metrics({s}, counters);

  // Every line is a comment or `name{labels} value`, and no line starts a fake metric.
  std::istringstream in(text);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line[0] == '#') {
      continue;
    }
    ++samples;
    EXPECT_EQ(line.rfind("schoolnet_", 0), 0u) << line;
    EXPECT_EQ(line.rfind("schoolnet_fake", 0), std::string::npos) << line;
  }
  EXPECT_GT(samples, 10);
  EXPECT_NE(text.find("schoolnet_probe_up{school_id=\"100001\",probe=\"evil\\\"} 1\\nschoolnet_"
                      "fake 1 #\",kind=\"dns\",target=\"a\\\\b\\n\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("schoolnet_probe_latency_seconds{school_id=\"100001\",probe=\"nan\","
                      "kind=\"dns\",target=\"x\"} NaN\n"),
            std::string::npos);
  EXPECT_NE(text.find("schoolnet_school_last_seen_timestamp_seconds{school_id=\"100001\"} "
                      "1700000000.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("schoolnet_school_devices{school_id=\"100001\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("schoolnet_ingest_requests_total{code=\"200\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("schoolnet_ingest_requests_total{code=\"413\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE schoolnet_ingest_records_total counter\n"), std::string::npos);
}

// A backlog draining after an outage: the latest failure central holds was observed an hour
// before it arrived. It is history; schoolnet_probe_up leaves it out, so no alert fires on it.
TEST(CentralMetrics, AFailureThatArrivedLateIsNotAProbeDownAlarm) {
  SchoolMetrics s;
  s.summary.school_id = "100001";
  ProbeState late = probe("m365", "login.microsoftonline.com", false, 0);
  late.received_ms = late.observed_ms + 3'600'000;
  ProbeState fresh = probe("dns", "resolver", false, 0);
  fresh.received_ms = fresh.observed_ms + 2'000;
  s.probes = {late, fresh};
  const std::string text = render_metrics({s}, ingest::IngestCounters{});
  EXPECT_EQ(text.find("schoolnet_probe_up{school_id=\"100001\",probe=\"m365\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("schoolnet_probe_up{school_id=\"100001\",probe=\"dns\",kind=\"dns\","
                      "target=\"resolver\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("schoolnet_probe_observed_timestamp_seconds{school_id=\"100001\","
                      "probe=\"m365\""),
            std::string::npos)
      << "its age stays visible";
}

TEST(CentralMetrics, FormatsSampleValuesAsPrometheusExpects) {
  EXPECT_EQ(format_sample(1), "1");
  EXPECT_EQ(format_sample(0.0125), "0.0125");
  EXPECT_EQ(format_sample(INFINITY), "+Inf");
  EXPECT_EQ(format_sample(-INFINITY), "-Inf");
  EXPECT_EQ(format_sample(std::nan("")), "NaN");
}

}  // namespace
}  // namespace schoolnet::central::api
