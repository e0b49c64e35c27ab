// Readings of this process from /proc, for AgentHealth and the benchmarks.
#pragma once

#include <cstdint>

namespace schoolnet {

uint64_t current_rss_bytes();  // VmRSS
uint64_t peak_rss_bytes();     // VmHWM
uint64_t bytes_written();      // write_bytes from /proc/self/io (bytes sent to storage)

}  // namespace schoolnet
