// Builders for telemetry records in tests.
#pragma once

#include <string>

#include "core/clock.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::testing {

inline v1::Record envelope(const Clock& clock) {
  v1::Record r;
  r.set_observed_at_ms(clock.wall_ms());
  r.set_monotonic_ms(clock.mono_ms());
  r.set_boot_id(clock.boot_id());
  r.set_clock_synced(clock.synchronised());
  return r;
}

inline v1::Record sample(const Clock& clock, const std::string& name = "probe", bool ok = true,
                         double latency_ms = 12.5) {
  v1::Record r = envelope(clock);
  auto* s = r.mutable_probe_sample();
  s->set_name(name);
  s->set_kind(v1::PROBE_KIND_HTTPS);
  s->set_target("https://example.test/");
  s->set_ok(ok);
  s->set_latency_ms(latency_ms);
  if (!ok) {
    s->set_error_class("connect_timeout");
  }
  return r;
}

inline v1::Record summary(const Clock& clock, const std::string& name, int64_t window_start_ms,
                          uint32_t count = 60, uint32_t failures = 0) {
  v1::Record r = envelope(clock);
  auto* s = r.mutable_probe_summary();
  s->set_name(name);
  s->set_kind(v1::PROBE_KIND_HTTPS);
  s->set_window_start_ms(window_start_ms);
  s->set_window_ms(60'000);
  s->set_count(count);
  s->set_failures(failures);
  s->set_latency_p50_ms(20);
  s->set_latency_p95_ms(40);
  s->set_latency_max_ms(90);
  return r;
}

inline v1::Record snapshot(const Clock& clock, const std::string& id) {
  v1::Record r = envelope(clock);
  auto* d = r.mutable_device_snapshot();
  d->set_device_id(id);
  d->set_sys_name(id);
  d->add_addresses("192.0.2.1");
  return r;
}

inline v1::Record change(const Clock& clock, const std::string& id) {
  v1::Record r = envelope(clock);
  auto* c = r.mutable_device_change();
  c->set_device_id(id);
  c->set_kind(v1::DeviceChange::APPEARED);
  return r;
}

inline v1::Record outage(const Clock& clock, int64_t start_ms) {
  v1::Record r = envelope(clock);
  auto* o = r.mutable_outage();
  o->set_start_ms(start_ms);
  o->set_scope("internet");
  o->set_cause("gateway forwards nothing");
  return r;
}

}  // namespace schoolnet::testing
