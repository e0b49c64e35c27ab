// One discovery pass: SNMP to every target (many at once), an mDNS browse at the same time,
// then the neighbour table. Runs on its own threads and returns the observations; the caller
// merges them into the inventory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/agent_config.hpp"
#include "discovery/inventory.hpp"
#include "discovery/snmp_device.hpp"

namespace schoolnet::discovery {

struct PassOptions {
  config::DiscoveryConfig config;
  std::map<std::string, int> preferred_credential;  // address -> credential index that worked
  SessionOpener opener;                             // default: net-snmp
};

struct PassResult {
  Observations observations;
  std::map<std::string, int> credential_used;
  std::vector<std::string> problems;
  size_t snmp_targets = 0;
  size_t snmp_answered = 0;
  int64_t duration_ms = 0;
};

// The addresses a pass asks: configured targets (CIDRs expanded) or, when none are configured,
// the box's own subnets; at most `max_targets`.
std::vector<std::string> expand_targets(const config::DiscoveryConfig& config,
                                        std::vector<std::string>* problems);

PassResult run_pass(const PassOptions& options);

}  // namespace schoolnet::discovery
