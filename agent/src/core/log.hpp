// Structured logging: a short message and key=value fields, one line per event on stderr.
// Under systemd (JOURNAL_STREAM set) lines carry "<N>" priority prefixes so journald files them;
// otherwise they carry a UTC timestamp and a level word for people at a terminal.
// Secrets never go into fields: callers pass redacted() forms.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace schoolnet::log {

enum class Level : int { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <typename N, typename = std::enable_if_t<std::is_arithmetic_v<N>>>
  Field(std::string_view k, N v) : key(k), value(format_number(v)) {}

  std::string_view key;
  std::string value;

 private:
  template <typename N>
  static std::string format_number(N v) {
    if constexpr (std::is_floating_point_v<N>) {
      return format_double(static_cast<double>(v));
    } else {
      return std::to_string(v);
    }
  }
  static std::string format_double(double v);
};

void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);

// Replaces the output (tests capture lines with it); an empty function restores stderr.
void set_sink(std::function<void(std::string_view line)> sink);

void event(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  event(Level::error, m, f);
}
inline void warning(std::string_view m, std::initializer_list<Field> f = {}) {
  event(Level::warning, m, f);
}
inline void notice(std::string_view m, std::initializer_list<Field> f = {}) {
  event(Level::notice, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  event(Level::info, m, f);
}
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  event(Level::debug, m, f);
}

// Formats one line without the prefix: message then key=value, values quoted when they hold
// spaces, quotes or '=' and control bytes escaped. Exposed for tests.
std::string format_line(std::string_view message, std::initializer_list<Field> fields);

}  // namespace schoolnet::log
