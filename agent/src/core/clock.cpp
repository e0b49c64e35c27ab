#include "core/clock.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sys/stat.h>
#include <sys/timex.h>

namespace schoolnet {

namespace {
int64_t read_clock_ms(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}
}  // namespace

SystemClock::SystemClock() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::getline(in, boot_id_);
  if (boot_id_.empty()) {
    boot_id_ = "unknown";
  }
  if (const char* f = std::getenv("SCHOOLNET_CLOCK_SYNC_FILE"); f && *f) {
    sync_file_ = f;
  }
}

int64_t SystemClock::wall_ms() const {
  return read_clock_ms(CLOCK_REALTIME);
}

int64_t SystemClock::mono_ms() const {
  return read_clock_ms(CLOCK_MONOTONIC);
}

bool SystemClock::synchronised() const {
  if (!sync_file_.empty()) {
    struct stat st {};
    return ::stat(sync_file_.c_str(), &st) == 0;
  }
  timex tx{};
  // modes = 0: read only. TIME_ERROR or STA_UNSYNC mean the kernel does not consider the clock
  // disciplined by NTP (systemd-timesyncd, chrony and ntpd all clear STA_UNSYNC once synced).
  const int state = adjtimex(&tx);
  if (state < 0 || state == TIME_ERROR) {
    return false;
  }
  return (tx.status & STA_UNSYNC) == 0;
}

std::string format_utc_ms(int64_t unix_ms) {
  int64_t secs = unix_ms / 1000;
  int64_t ms = unix_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const time_t t = static_cast<time_t>(secs);
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(ms));
  return buf;
}

}  // namespace schoolnet
