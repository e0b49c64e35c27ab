// Every record starts with the same envelope: when it was observed, by which clocks.
#pragma once

#include "core/clock.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::app {

inline v1::Record make_record(const Clock& clock) {
  v1::Record r;
  r.set_observed_at_ms(clock.wall_ms());
  r.set_monotonic_ms(clock.mono_ms());
  r.set_boot_id(clock.boot_id());
  r.set_clock_synced(clock.synchronised());
  return r;
}

}  // namespace schoolnet::app
