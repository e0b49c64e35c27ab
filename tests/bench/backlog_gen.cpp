// Writes a backlog into an agent's store, as if the agent had run for --hours without reaching
// central: every configured probe's samples at its interval (or --probe-interval), the
// per-window summaries the daemon would have made of them, agent health at health_interval,
// a full device snapshot set a day, device changes and outages. Records go through
// AgentStore::append in commits of 1000, so they are produced and counted exactly as the
// agent's own; the clock is a ManualClock walking from end - hours to end.
//
// Used by scripts/bench (time to drain a day's backlog) and by the delivery tests (a long outage
// against a small cap). Prints key=value lines: records per kind, payload bytes, file bytes.
//
// usage: backlog_gen --config AGENT.toml --hours H [--end-ms MS] [--store PATH]
//                    [--probe-interval MS] [--health-interval MS] [--devices N]
//                    [--outage-every-hours N]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "config/agent_config.hpp"
#include "core/clock.hpp"
#include "probes/probe.hpp"
#include "probes/summary.hpp"
#include "store/agent_store.hpp"

namespace {

using namespace schoolnet;

struct Options {
  std::string config;
  std::string store;
  double hours = 24;
  int64_t end_ms = 0;
  int64_t probe_interval_ms = 0;   // 0: each probe's configured interval
  int64_t health_interval_ms = 0;  // 0: the configured health_interval
  int devices = 15;
  int outage_every_hours = 6;
};

int usage(const char* why) {
  std::fprintf(stderr,
               "backlog_gen: %s\nusage: backlog_gen --config AGENT.toml --hours H [--end-ms MS] "
               "[--store PATH] [--probe-interval MS] [--health-interval MS] [--devices N] "
               "[--outage-every-hours N]\n",
               why);
  return 2;
}

// A deterministic stand-in for randomness: the same backlog on every run.
uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

v1::Record envelope(const Clock& clock) {
  v1::Record r;
  r.set_observed_at_ms(clock.wall_ms());
  r.set_monotonic_ms(clock.mono_ms());
  r.set_boot_id(clock.boot_id());
  r.set_clock_synced(true);
  return r;
}

v1::ProbeSample sample_of(const config::ProbeConfig& p, uint64_t n, bool down) {
  v1::ProbeSample s;
  s.set_name(p.name);
  s.set_kind(probes::to_proto(p.kind));
  s.set_target(p.target);
  const uint64_t h = mix(n);
  if (down) {
    s.set_ok(false);
    s.set_error_class("connect_timeout");
    s.set_error_detail("no answer within 10000 ms");
    return s;
  }
  const double latency = 8.0 + static_cast<double>(h % 4000) / 100.0;
  s.set_ok(true);
  s.set_latency_ms(latency);
  auto* t = s.mutable_timings();
  t->set_dns_ms(1.0 + static_cast<double>(h % 300) / 100.0);
  if (p.kind != config::ProbeKind::dns) {
    t->set_connect_ms(latency / 3);
    s.add_resolved_addresses("198.18.0." + std::to_string(10 + h % 5));
  }
  if (p.kind == config::ProbeKind::tls || p.kind == config::ProbeKind::https) {
    t->set_tls_ms(latency / 2);
    auto* tls = s.mutable_tls();
    tls->set_subject("CN=" + p.host);
    tls->set_issuer("CN=schoolnet simulated school test CA");
    tls->set_not_before_ms(1'700'000'000'000);
    tls->set_not_after_ms(2'000'000'000'000);
    tls->set_verified(true);
    tls->set_protocol("TLSv1.3");
  }
  if (p.kind == config::ProbeKind::https) {
    t->set_first_byte_ms(latency * 0.9);
    s.set_http_status(200);
  }
  t->set_total_ms(latency);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--config" && (v = next())) {
      o.config = v;
    } else if (a == "--store" && (v = next())) {
      o.store = v;
    } else if (a == "--hours" && (v = next())) {
      o.hours = std::atof(v);
    } else if (a == "--end-ms" && (v = next())) {
      o.end_ms = std::atoll(v);
    } else if (a == "--probe-interval" && (v = next())) {
      o.probe_interval_ms = std::atoll(v);
    } else if (a == "--health-interval" && (v = next())) {
      o.health_interval_ms = std::atoll(v);
    } else if (a == "--devices" && (v = next())) {
      o.devices = std::atoi(v);
    } else if (a == "--outage-every-hours" && (v = next())) {
      o.outage_every_hours = std::atoi(v);
    } else {
      return usage(("bad argument " + a).c_str());
    }
  }
  if (o.config.empty() || o.hours <= 0) {
    return usage("--config and --hours are required");
  }
  settings::Problems problems;
  auto cfg = config::load(o.config, problems);
  if (!cfg) {
    std::fprintf(stderr, "%s", problems.joined().c_str());
    return 2;
  }
  if (o.store.empty()) {
    o.store = cfg->store.path;
  }
  SystemClock real;
  const int64_t end = o.end_ms > 0 ? o.end_ms : real.wall_ms();
  const auto span = static_cast<int64_t>(o.hours * 3'600'000);
  ManualClock clock(end - span, 1'000, true, "backlog-gen");
  auto store = store::AgentStore::open(o.store, clock);
  if (!store) {
    std::fprintf(stderr, "backlog_gen: %s\n", store.error().to_string().c_str());
    return 1;
  }

  const auto& list = cfg->probes_list;
  std::vector<int64_t> next_probe(list.size(), 0);
  int64_t next_health = 0;
  int64_t next_snapshot = 0;
  int64_t next_change = 3'600'000;
  const int64_t outage_every = static_cast<int64_t>(o.outage_every_hours) * 3'600'000;
  int64_t next_outage = outage_every > 0 ? outage_every / 2 : span + 1;
  int64_t outage_end = -1;
  int64_t outage_start_wall = 0;
  probes::SummaryWindow window(cfg->probes.summary_window_ms);
  std::vector<v1::Record> pending;
  std::map<std::string, uint64_t> counts;
  uint64_t payload = 0;
  uint64_t n = 0;

  auto emit = [&](v1::Record r) {
    counts[store::kind_name(r)] += 1;
    payload += r.ByteSizeLong();
    pending.push_back(std::move(r));
    if (pending.size() >= 1000) {
      if (auto st = store->append(pending); !st) {
        std::fprintf(stderr, "backlog_gen: %s\n", st.error().to_string().c_str());
        std::exit(1);
      }
      pending.clear();
    }
  };

  // Walk time in 100 ms steps (probe intervals are whole seconds at least).
  constexpr int64_t kStep = 100;
  for (int64_t t = 0; t < span; t += kStep, clock.advance_ms(kStep)) {
    const bool down = outage_end >= 0 && t < outage_end;
    for (size_t i = 0; i < list.size(); ++i) {
      if (t < next_probe[i]) {
        continue;
      }
      const int64_t interval = o.probe_interval_ms > 0 ? o.probe_interval_ms : list[i].interval_ms;
      next_probe[i] = t + interval;
      v1::ProbeSample s = sample_of(list[i], ++n, down);
      window.add(s, clock.wall_ms(), clock.mono_ms());
      v1::Record r = envelope(clock);
      *r.mutable_probe_sample() = std::move(s);
      emit(std::move(r));
    }
    if (t % 5'000 == 0) {
      for (auto& s : window.close(clock.wall_ms(), clock.mono_ms(), false)) {
        v1::Record r = envelope(clock);
        *r.mutable_probe_summary() = std::move(s);
        emit(std::move(r));
      }
    }
    if (t >= next_health) {
      next_health = t + (o.health_interval_ms > 0 ? o.health_interval_ms : cfg->health_interval_ms);
      v1::Record r = envelope(clock);
      auto* h = r.mutable_agent_health();
      h->set_uptime_s(static_cast<uint64_t>(t / 1000));
      h->set_rss_bytes(14 << 20);
      h->set_clock_synced(true);
      h->set_version("backlog-gen");
      h->set_last_upload_error("connect: Failed to connect to central port 8443");
      if (auto a = store->accounting(); a) {
        h->set_produced(a->produced);
        h->set_acked(a->acked);
        h->set_pending_records(a->pending_records);
        h->set_pending_bytes(a->pending_bytes);
      }
      emit(std::move(r));
    }
    if (t >= next_snapshot) {
      next_snapshot = t + 86'400'000;
      for (int d = 0; d < o.devices; ++d) {
        v1::Record r = envelope(clock);
        auto* s = r.mutable_device_snapshot();
        s->set_device_id("mac:02:00:00:00:00:" + std::to_string(10 + d));
        s->add_addresses("10.99.0." + std::to_string(20 + d));
        s->set_mac("02:00:00:00:00:" + std::to_string(10 + d));
        s->set_sys_name("backlog-device-" + std::to_string(d));
        s->set_sys_descr("Simulated device " + std::to_string(d) + " for a backlog");
        s->set_device_class(d % 3 == 0 ? v1::DEVICE_CLASS_SWITCH : v1::DEVICE_CLASS_PRINTER);
        s->add_sources("snmp");
        s->set_first_seen_ms(end - span);
        s->set_last_seen_ms(clock.wall_ms());
        emit(std::move(r));
      }
    }
    if (t >= next_change) {
      next_change = t + 3'600'000;
      v1::Record r = envelope(clock);
      auto* c = r.mutable_device_change();
      c->set_device_id("mac:02:00:00:00:01:" + std::to_string(t / 3'600'000));
      c->set_kind(v1::DeviceChange::APPEARED);
      c->set_after("10.99.1." + std::to_string(t / 3'600'000 % 250));
      emit(std::move(r));
    }
    if (t >= next_outage && outage_end < 0) {
      outage_end = t + 10 * 60'000;
      outage_start_wall = clock.wall_ms();
      next_outage = t + outage_every;
      v1::Record r = envelope(clock);
      auto* out = r.mutable_outage();
      out->set_start_ms(outage_start_wall);
      out->set_scope("internet");
      out->set_cause("no internet target answered");
      emit(std::move(r));
    } else if (outage_end >= 0 && t >= outage_end) {
      outage_end = -1;
      v1::Record r = envelope(clock);
      auto* out = r.mutable_outage();
      out->set_start_ms(outage_start_wall);
      out->set_end_ms(clock.wall_ms());
      out->set_scope("internet");
      out->set_cause("no internet target answered");
      emit(std::move(r));
    }
  }
  for (auto& s : window.close(clock.wall_ms(), clock.mono_ms(), true)) {
    v1::Record r = envelope(clock);
    *r.mutable_probe_summary() = std::move(s);
    emit(std::move(r));
  }
  if (!pending.empty()) {
    if (auto st = store->append(pending); !st) {
      std::fprintf(stderr, "backlog_gen: %s\n", st.error().to_string().c_str());
      return 1;
    }
  }
  (void)store->compact(1);
  uint64_t total = 0;
  for (const auto& [kind, count] : counts) {
    std::printf("records_%s=%llu\n", kind.c_str(), static_cast<unsigned long long>(count));
    total += count;
  }
  std::printf("records=%llu\n", static_cast<unsigned long long>(total));
  std::printf("payload_bytes=%llu\n", static_cast<unsigned long long>(payload));
  std::printf("file_bytes=%llu\n", static_cast<unsigned long long>(store->file_bytes()));
  std::printf("start_ms=%lld\nend_ms=%lld\n", static_cast<long long>(end - span),
              static_cast<long long>(end));
  return 0;
}
