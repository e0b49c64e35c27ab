// The daemon's event loop: one io_context on the main thread owns the store; timers on the
// monotonic clock drive probes, discovery, uploads, commits and housekeeping, so a wall-clock
// step never fires every schedule at once or stalls a backoff. Blocking work (libcurl, SNMP)
// runs on workers and posts its results back.
#pragma once

#include "app/agent.hpp"

namespace schoolnet::app {

int run_daemon(Agent& agent);

}  // namespace schoolnet::app
