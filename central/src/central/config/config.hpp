// schoolnet-central's configuration: one settings table (spec()) declares every key; load()
// parses a TOML file against it and then checks what the table cannot express (address syntax,
// duplicate tokens, school ids usable in URLs). Every problem names the file, line and key.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/settings.hpp"

namespace schoolnet::central {

struct ListenAddress {
  std::string host;  // IPv4 dotted quad or IPv6 without brackets
  uint16_t port = 0;
};

// One enrolled agent credential: the token is bound to a school and optionally to one agent id.
struct AgentCredentialConfig {
  std::string token;
  std::string school_id;
  std::string agent_id;  // empty: any agent id of that school
};

// Read access to the JSON API and /metrics, for every school or a list of schools.
struct ApiCredentialConfig {
  std::string token;
  bool all_schools = false;
  std::vector<std::string> schools;
};

struct Config {
  std::string listen_text;
  ListenAddress listen;
  std::string tls_cert;
  std::string tls_key;
  std::string maintenance_file;  // empty: no maintenance switch
  int threads = 2;
  int64_t max_body = 4 << 20;
  int64_t max_decompressed = 32 << 20;
  int64_t max_records = 20000;
  int64_t agent_rate = 20;  // uploads per second per agent credential; 0 = unlimited
  std::string store_path;
  int64_t retention_ms = 400LL * 86'400'000;
  std::vector<ApiCredentialConfig> api_tokens;
  std::vector<AgentCredentialConfig> agents;

  // The parsed document, kept so that later checks (TLS files) can name file, line and key.
  settings::Document doc;
  std::string problem(std::string_view key, std::string_view what) const;
};

// The settings table (also drives `config reference` and docs/central.md).
std::span<const settings::Spec> config_spec();

Result<Config> load_config_text(std::string_view toml_text, std::string_view file_name,
                                settings::Problems& problems);
Result<Config> load_config_file(const std::string& path, settings::Problems& problems);

// "198.18.0.100:8443" or "[2001:db8::1]:8443". Port 0 asks the kernel for a free port (tests).
Result<ListenAddress> parse_listen_address(std::string_view text);

// School ids end up in URL paths and metric labels: 1..64 printable ASCII, no '/', no spaces.
bool is_valid_school_id(std::string_view id);

}  // namespace schoolnet::central
