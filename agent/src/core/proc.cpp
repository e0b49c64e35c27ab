#include "core/proc.hpp"

#include <cstdio>
#include <cstring>

namespace schoolnet {

namespace {
uint64_t read_field(const char* file, const char* key, uint64_t scale) {
  FILE* f = std::fopen(file, "re");
  if (!f) {
    return 0;
  }
  char line[256];
  uint64_t value = 0;
  const size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, key_len) == 0) {
      unsigned long long v = 0;
      if (std::sscanf(line + key_len, " %llu", &v) == 1) {
        value = static_cast<uint64_t>(v) * scale;
      }
      break;
    }
  }
  std::fclose(f);
  return value;
}
}  // namespace

uint64_t current_rss_bytes() {
  return read_field("/proc/self/status", "VmRSS:", 1024);
}
uint64_t peak_rss_bytes() {
  return read_field("/proc/self/status", "VmHWM:", 1024);
}
uint64_t bytes_written() {
  return read_field("/proc/self/io", "write_bytes:", 1);
}

}  // namespace schoolnet
