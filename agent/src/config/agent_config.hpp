// The agent's configuration: the settings table (single source for parsing, `config check`
// and docs/configuration.md) and the validated, typed form the rest of the agent uses.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/settings.hpp"

namespace schoolnet::config {

enum class ProbeKind { dns, tcp, tls, https };

const char* probe_kind_name(ProbeKind k);

struct ProbeConfig {
  std::string name;
  ProbeKind kind = ProbeKind::https;
  std::string target;  // dns: host name; tcp/tls: host:port; https: URL
  std::string host;    // parsed from target
  uint16_t port = 0;   // parsed from target (0 for dns)
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;
  std::string resolver;  // dns kind: "addr" or "addr:port"; empty = the system resolver
  std::string ca_file;   // tls/https: trust store; empty = [probes] ca_file or the system store
};

struct SnmpTarget {
  std::string text;    // as configured: "10.0.0.2" or "10.0.0.0/28"
  uint32_t first = 0;  // IPv4 range, host order, inclusive
  uint32_t last = 0;
};

struct CentralConfig {
  std::string url;
  std::string ca_file;
  std::string token;
  std::string proxy;  // empty: from the environment (https_proxy, HTTPS_PROXY, ...)
  int64_t timeout_ms = 30'000;
  int64_t upload_interval_ms = 60'000;
  int64_t retry_cap_ms = 300'000;
  int64_t batch_max_records = 1000;
  int64_t batch_max_bytes = 256 * 1024;
  int64_t drain_rate_bps = 1'000'000;  // backlog drain rate, bits per second; 0 = unlimited
};

struct StoreConfig {
  std::string path;
  int64_t max_bytes = 64ll << 20;
  int64_t min_free_bytes = 64ll << 20;
  int64_t commit_interval_ms = 1000;
  int64_t commit_records = 1000;
};

struct SnmpV3User {
  std::string user;
  std::string auth_protocol;  // SHA or SHA-256
  std::string auth_key;
  std::string priv_protocol;  // AES or none (authNoPriv)
  std::string priv_key;
};

struct DiscoveryConfig {
  std::vector<SnmpTarget> snmp_targets;          // empty: the box's own subnets
  std::vector<std::string> snmp_communities;     // v2c
  std::vector<std::string> snmp_v1_communities;  // v1, for devices that speak nothing newer
  std::vector<SnmpV3User> snmp_v3;               // tried before the communities
  int64_t snmp_timeout_ms = 1000;
  int64_t snmp_retries = 1;
  int64_t snmp_concurrency = 32;
  int64_t max_targets = 1024;
  int64_t sweep_rate = 50;                   // packets per second
  int64_t walk_timeout_ms = 20'000;          // one table column
  int64_t walk_max_rows = 20'000;            // one table column
  int64_t device_timeout_ms = 60'000;        // every table of one device
  int64_t device_max_rows = 200'000;         // every table of one device
  std::vector<std::string> mdns_interfaces;  // empty: every non-loopback interface
  int64_t mdns_wait_ms = 3000;
  int64_t interval_ms = 15 * 60'000;
  int64_t gone_after_passes = 3;
  std::string classify_rules;  // a rules file replacing the built-in one; empty = built in
};

struct ProbesConfig {
  std::string ca_file;
  int64_t timeout_ms = 10'000;
  int64_t summary_window_ms = 60'000;
};

struct AgentConfig {
  std::string file;
  std::string school_id;
  std::string agent_id;
  std::string log_level = "info";
  CentralConfig central;
  StoreConfig store;
  DiscoveryConfig discovery;
  ProbesConfig probes;
  std::vector<ProbeConfig> probes_list;
  int64_t health_interval_ms = 300'000;
};

std::span<const settings::Spec> agent_settings();

// Whether validation also checks that the files the config names (CA, rules) can be read.
// Commands that only read the store (inventory, status) skip it, so a technician can still
// look at what the box holds while a CA file is missing.
enum class FileChecks { on, off };

// Parses and validates; every problem goes to `problems` ("FILE:LINE: KEY: what").
Result<AgentConfig> load(const std::string& path, settings::Problems& problems,
                         FileChecks files = FileChecks::on);
Result<AgentConfig> parse(std::string_view toml_text, std::string_view file_name,
                          settings::Problems& problems, FileChecks files = FileChecks::on);

// Parses "a.b.c.d" or "a.b.c.d/len" (len 16..32) into an inclusive IPv4 range.
Result<SnmpTarget> parse_target(std::string_view text);

// Splits "host:port" / "[v6]:port"; port required when default_port == 0.
Result<std::pair<std::string, uint16_t>> split_host_port(std::string_view text,
                                                         uint16_t default_port);

}  // namespace schoolnet::config
