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
#include "discovery/snmp_walk.hpp"

namespace schoolnet::discovery {

struct PassOptions {
  config::DiscoveryConfig config;
  std::map<std::string, int> preferred_credential;  // address -> credential index that worked
  std::map<std::string, WalkTuning> tuning;         // address -> how walking it went last time
  std::vector<Oid> presence_roots;                  // MIB roots classification asks about
  SessionOpener opener;                             // default: net-snmp
};

struct PassResult {
  Observations observations;
  std::map<std::string, int> credential_used;
  std::map<std::string, WalkTuning> tuning;
  std::vector<std::string> problems;
  size_t snmp_targets = 0;  // addresses asked in full
  size_t snmp_answered = 0;
  size_t swept = 0;  // addresses swept
  size_t sweep_responders = 0;
  int64_t duration_ms = 0;
  int64_t snmp_ms = 0;  // of which SNMP: from the start until the last device was asked in full
};

struct Targets {
  std::vector<std::string> explicit_addresses;  // single addresses: always asked in full
  std::vector<std::string> sweep;               // CIDRs expanded: swept first
};

// The addresses a pass covers: configured single addresses, and the configured subnets (or,
// when nothing is configured, the box's own subnets, at most a /22 each) to sweep; at most
// `max_targets` in all.
Targets expand_targets(const config::DiscoveryConfig& config, std::vector<std::string>* problems);

// The community credentials in the order they are tried: the v2c communities, then the v1 ones.
// A pass's credential list is the v3 users followed by these.
std::vector<Credential> community_credentials(const config::DiscoveryConfig& config);

PassResult run_pass(const PassOptions& options);

}  // namespace schoolnet::discovery
