#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <unistd.h>

#include "core/text.hpp"

namespace schoolnet::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mutex;
std::function<void(std::string_view)>& sink_slot() {
  static std::function<void(std::string_view)> sink;
  return sink;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (const char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

const char* level_word(Level l) {
  switch (l) {
    case Level::error:
      return "ERROR";
    case Level::warning:
      return "WARN ";
    case Level::notice:
      return "NOTE ";
    case Level::info:
      return "INFO ";
    case Level::debug:
      return "DEBUG";
  }
  return "INFO ";
}
}  // namespace

std::string Field::format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  if (v >= 1000 || v <= -1000) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}

void set_level(Level l) {
  g_level.store(static_cast<int>(l));
}
Level level() {
  return static_cast<Level>(g_level.load());
}

bool parse_level(std::string_view text, Level& out) {
  if (text == "error") {
    out = Level::error;
  } else if (text == "warning") {
    out = Level::warning;
  } else if (text == "notice") {
    out = Level::notice;
  } else if (text == "info") {
    out = Level::info;
  } else if (text == "debug") {
    out = Level::debug;
  } else {
    return false;
  }
  return true;
}

void set_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(g_mutex);
  sink_slot() = std::move(sink);
}

std::string format_line(std::string_view message, std::initializer_list<Field> fields) {
  std::string line(message);
  for (const Field& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    const std::string safe = display_safe(f.value);
    if (needs_quotes(safe)) {
      line += '"';
      for (const char c : safe) {
        if (c == '"' || c == '\\') {
          line += '\\';
        }
        line += c;
      }
      line += '"';
    } else {
      line += safe;
    }
  }
  return line;
}

void event(Level l, std::string_view message, std::initializer_list<Field> fields) {
  if (static_cast<int>(l) > g_level.load()) {
    return;
  }
  const std::string body = format_line(message, fields);
  std::lock_guard lock(g_mutex);
  if (sink_slot()) {
    sink_slot()(body);
    return;
  }
  static const bool journald = std::getenv("JOURNAL_STREAM") != nullptr;
  if (journald) {
    std::fprintf(stderr, "<%d>%s\n", static_cast<int>(l), body.c_str());
  } else {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm parts{};
    gmtime_r(&ts.tv_sec, &parts);
    std::fprintf(stderr, "%02d:%02d:%02d %s %s\n", parts.tm_hour, parts.tm_min, parts.tm_sec,
                 level_word(l), body.c_str());
  }
  std::fflush(stderr);
}

}  // namespace schoolnet::log
