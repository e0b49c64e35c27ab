// systemd's readiness and watchdog protocol (sd_notify), written directly to NOTIFY_SOCKET so
// the agent needs no libsystemd. Silent no-ops when not started by systemd.
#pragma once

#include <cstdint>
#include <string>

namespace schoolnet::app {

void sd_notify_message(const std::string& message);
// Half the watchdog interval systemd asked for, in ms; 0 when there is no watchdog.
int64_t sd_watchdog_interval_ms();

}  // namespace schoolnet::app
