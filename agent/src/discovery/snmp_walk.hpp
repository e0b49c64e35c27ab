// Walking an SNMP subtree without trusting the device. Real agents repeat OIDs, step
// backwards, never reach the end, answer large GETBULKs with tooBig and no varbinds, or drop
// GETBULK altogether. The walker requires every OID to be strictly greater than the last,
// bounds rows and time, adapts max-repetitions per device (halving on tooBig or timeout,
// falling back to GETNEXT), and always returns what it got with the reason it stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "discovery/snmp.hpp"

namespace schoolnet::discovery {

// What a device taught us about walking it; remembered between passes.
struct WalkTuning {
  // Passes after which a device that proved GETBULK unusable is tried with it again (about a
  // day at the default discovery interval).
  static constexpr int kRetryBulkAfterPasses = 96;
  int max_repetitions = 32;
  bool bulk = true;  // false once GETBULK proved unusable (or for SNMPv1)
  int passes_without_bulk = 0;
};

struct WalkBudget {
  size_t max_rows = 20'000;
  int64_t max_ms = 30'000;
};

struct WalkResult {
  std::vector<VarBind> rows;
  // Empty when the subtree ended normally; else why the walk stopped early with a partial
  // result: oid_not_increasing, row_budget, time_budget, timeout, auth, error.
  std::string stopped;
  std::string detail;
  int requests = 0;
  bool complete() const { return stopped.empty(); }
};

using SteadyNow = std::function<int64_t()>;  // ms; injectable for tests

WalkResult walk(SnmpSession& session, const Oid& root, WalkTuning& tuning, const WalkBudget& budget,
                const SteadyNow& now = {});

// Per-interface counter arithmetic: the increase from `previous` to `current` for a counter
// of `bits` (32 or 64) that may have wrapped once; nullopt when the device restarted in
// between (sysUpTime went back) and the counters were reset.
std::optional<uint64_t> counter_delta(uint64_t previous, uint64_t current, int bits,
                                      bool device_restarted);

}  // namespace schoolnet::discovery
