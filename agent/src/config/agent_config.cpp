#include "config/agent_config.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <unistd.h>

namespace schoolnet::config {

namespace {

using settings::Spec;
using settings::Type;

constexpr int64_t kSecond = 1000;
constexpr int64_t kDay = 86'400'000;

const std::vector<Spec>& specs() {
  static const std::vector<Spec> table = {
      {"school_id", Type::string, "", true,
       "The school's unique reference number (URN), as the LA knows it."},
      {"agent_id", Type::string, "", true,
       "This box's identity at central; unique across the LA. Letters, digits, '-', '_', '.'."},
      {"log_level",
       Type::string,
       "info",
       false,
       "Lowest level logged.",
       INT64_MIN,
       INT64_MAX,
       {"error", "warning", "notice", "info", "debug"}},
      {"health_interval", Type::duration, "5m", false,
       "How often the agent reports its own health and delivery counters.", 10 * kSecond, kDay},

      {"central.url", Type::string, "", true,
       "Base URL of the LA central service, https://host[:port]; batches go to URL/v1/batches."},
      {"central.ca_file", Type::string, "", false,
       "PEM file of the CA(s) that sign central's certificate; empty = the system trust store."},
      {"central.token", Type::secret, "", true,
       "Bearer token central issued for this agent. Keep the file mode 0640, owned by "
       "root:schoolnet (the agent's group); never logged."},
      {"central.proxy", Type::string, "", false,
       "HTTP(S) proxy for the uplink, http://[user:pass@]host:port; empty = the environment "
       "(https_proxy, HTTPS_PROXY, no_proxy)."},
      {"central.timeout", Type::duration, "30s", false, "Timeout of one upload attempt.", kSecond,
       600 * kSecond},
      {"central.upload_interval", Type::duration, "1m", false,
       "How often pending records are sealed into batches and sent.", kSecond, 3'600 * kSecond},
      {"central.retry_cap", Type::duration, "5m", false,
       "Longest wait between attempts while central is unreachable (backoff with full jitter).",
       kSecond, 3'600 * kSecond},
      {"central.batch_max_records", Type::integer, "1000", false, "Records per batch at most.", 1,
       100'000},
      {"central.batch_max_bytes", Type::size, "256KiB", false, "Uncompressed batch size at most.",
       1024, 64ll << 20},
      {"central.drain_rate", Type::integer, "1000000", false,
       "Backlog drain rate in bits per second, so catching up never chokes the school's link; "
       "0 = unlimited.",
       0, 10'000'000'000},

      {"store.path", Type::string, "/var/lib/schoolnet/agent.db", false,
       "SQLite file holding the outbox, inventory and agent state."},
      {"store.max_size", Type::size, "64MiB", false,
       "Outbox size cap; at the cap the oldest low-priority records are evicted (and counted).",
       1 << 20, 64ll << 30},
      {"store.min_free_disk", Type::size, "64MiB", false,
       "Free space kept on the store's file system; below it the outbox evicts.", 0, 64ll << 30},
      {"store.commit_interval", Type::duration, "1s", false,
       "Records are committed (and so produced) at least this often.", 10, 60 * kSecond},
      {"store.commit_records", Type::integer, "1000", false,
       "...or as soon as this many are waiting.", 1, 1'000'000},

      {"discovery.snmp_targets", Type::string_list, "", false,
       "Single addresses are always asked over SNMP in full; IPv4 CIDRs (/16 to /32) are swept "
       "and whoever answers is asked in full. Empty = sweep the box's own subnets."},
      {"discovery.snmp_communities", Type::string_list, "public", false,
       "SNMP v2c communities tried in order; the credential that works is remembered per "
       "device."},
      {"discovery.snmp_v1_communities", Type::string_list, "", false,
       "SNMP v1 communities, for old devices that speak nothing newer; tried after the v2c "
       "ones."},
      {"discovery.snmp_v3", Type::table_array, "", false,
       "SNMPv3 users ([[discovery.snmp_v3]]), tried before the communities."},
      {"discovery.snmp_v3[].user", Type::string, "", true, "USM user name."},
      {"discovery.snmp_v3[].auth_protocol",
       Type::string,
       "SHA",
       false,
       "Authentication.",
       INT64_MIN,
       INT64_MAX,
       {"SHA", "SHA-256"}},
      {"discovery.snmp_v3[].auth_key", Type::secret, "", true,
       "Authentication pass phrase (at least 8 characters). Never logged."},
      {"discovery.snmp_v3[].priv_protocol",
       Type::string,
       "AES",
       false,
       "Privacy (encryption); none = authNoPriv.",
       INT64_MIN,
       INT64_MAX,
       {"AES", "none"}},
      {"discovery.snmp_v3[].priv_key", Type::secret, "", false,
       "Privacy pass phrase (at least 8 characters) unless priv_protocol is none. Never logged."},
      {"discovery.snmp_timeout", Type::duration, "1s", false, "Timeout of one SNMP request.", 100,
       60 * kSecond},
      {"discovery.snmp_retries", Type::integer, "1", false, "Retries of one SNMP request.", 0, 5},
      {"discovery.snmp_concurrency", Type::integer, "32", false, "Devices asked at the same time.",
       1, 256},
      {"discovery.max_targets", Type::integer, "1024", false,
       "Upper bound on addresses one pass asks, whatever the CIDRs say.", 1, 65'536},
      {"discovery.sweep_rate", Type::integer, "50", false,
       "Packets per second of the sweep of subnets (single addresses are asked directly).", 1,
       10'000},
      {"discovery.walk_timeout", Type::duration, "20s", false,
       "Longest one table walk may take before it stops with a partial result.", 1000,
       600 * kSecond},
      {"discovery.walk_max_rows", Type::integer, "20000", false,
       "Most rows one table walk keeps before it stops with a partial result.", 10, 1'000'000},
      {"discovery.device_timeout", Type::duration, "60s", false,
       "Longest all of one device's tables may take in a pass.", 1000, 3'600 * kSecond},
      {"discovery.device_max_rows", Type::integer, "200000", false,
       "Most rows all of one device's tables keep in a pass; the tables after that are skipped "
       "and the device's walk errors say so.",
       100, 10'000'000},
      {"discovery.mdns_interfaces", Type::string_list, "", false,
       "Interfaces to browse mDNS/DNS-SD on; empty = every non-loopback interface with IPv4."},
      {"discovery.mdns_wait", Type::duration, "3s", false,
       "How long one mDNS browse listens for answers.", 500, 60 * kSecond},
      {"discovery.interval", Type::duration, "15m", false, "Time between discovery passes.",
       10 * kSecond, kDay},
      {"discovery.classify_rules", Type::string, "", false,
       "A device classification rules file (the format of /usr/share/schoolnet/classify.toml) "
       "used instead of the built-in rules; empty = the built-in rules."},
      {"discovery.gone_after", Type::integer, "3", false,
       "A device missing from this many passes in a row is reported gone.", 1, 1000},

      {"probes.ca_file", Type::string, "", false,
       "Trust store for tls and https probes; empty = the system store. A certificate from "
       "another issuer is reported as not verified (HTTPS inspection)."},
      {"probes.timeout", Type::duration, "10s", false, "Default timeout of one probe.", 100,
       120 * kSecond},
      {"probes.summary_window", Type::duration, "1m", false,
       "Window of the per-probe summaries (count, failures, p50/p95/max).", 10 * kSecond,
       3'600 * kSecond},

      {"probe", Type::table_array, "", false, "One [[probe]] table per monitored target."},
      {"probe[].name", Type::string, "", true, "Unique name shown to people."},
      {"probe[].kind",
       Type::string,
       "",
       true,
       "What to measure.",
       INT64_MIN,
       INT64_MAX,
       {"dns", "tcp", "tls", "https"}},
      {"probe[].target", Type::string, "", true,
       "dns: a host name; tcp and tls: host:port (tls defaults to 443); https: an https:// (or "
       "http://) URL."},
      {"probe[].interval", Type::duration, "2m", false, "Time between attempts.", kSecond, kDay},
      {"probe[].timeout", Type::duration, "", false, "Overrides probes.timeout.", 100,
       120 * kSecond},
      {"probe[].resolver", Type::string, "", false,
       "dns kind: the resolver to ask, addr or addr:port; empty = the system resolver."},
      {"probe[].ca_file", Type::string, "", false, "tls/https: overrides probes.ca_file."},
  };
  return table;
}

bool valid_identifier(const std::string& s) {
  if (s.empty() || s.size() > 128) {
    return false;
  }
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) {
    return false;
  }
  for (const char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == ':';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Splits an https URL into host and port; path ignored.
Result<std::pair<std::string, uint16_t>> url_host_port(std::string_view url, bool https_only) {
  std::string_view rest;
  uint16_t def = 443;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else if (!https_only && url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
    def = 80;
  } else {
    return make_error("bad_url", std::string("must start with ") +
                                     (https_only ? "https://" : "https:// or http://"));
  }
  const size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    return make_error("bad_url", "must not carry credentials (user:pass@)");
  }
  auto hp = split_host_port(authority, def);
  if (!hp) {
    return hp.error();
  }
  return hp.value();
}

}  // namespace

const char* probe_kind_name(ProbeKind k) {
  switch (k) {
    case ProbeKind::dns:
      return "dns";
    case ProbeKind::tcp:
      return "tcp";
    case ProbeKind::tls:
      return "tls";
    case ProbeKind::https:
      return "https";
  }
  return "?";
}

std::span<const settings::Spec> agent_settings() {
  return specs();
}

Result<std::pair<std::string, uint16_t>> split_host_port(std::string_view text,
                                                         uint16_t default_port) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return make_error("bad_host", "unclosed '[' in '" + std::string(text) + "'");
    }
    host = std::string(text.substr(1, close - 1));
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return make_error("bad_host", "unexpected text after ']' in '" + std::string(text) + "'");
      }
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
    } else {
      host = std::string(text);
    }
  }
  if (!valid_host(host)) {
    return make_error("bad_host", "'" + std::string(text) + "' has no valid host name or address");
  }
  uint16_t port = default_port;
  if (!port_text.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      return make_error("bad_port", "'" + std::string(port_text) + "' is not a port (1..65535)");
    }
    port = static_cast<uint16_t>(v);
  }
  if (port == 0) {
    return make_error("bad_port", "'" + std::string(text) + "' needs a port (host:port)");
  }
  return std::make_pair(host, port);
}

Result<SnmpTarget> parse_target(std::string_view text) {
  SnmpTarget t;
  t.text = std::string(text);
  std::string addr(text);
  int prefix = 32;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr = std::string(text.substr(0, slash));
    const std::string_view len = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
    if (ec != std::errc() || p != len.data() + len.size() || prefix < 16 || prefix > 32) {
      return make_error("bad_target", "'" + std::string(text) +
                                          "': prefix length must be 16..32 (a /16 is 65,536 "
                                          "addresses; anything larger is a mistake)");
    }
  }
  in_addr a{};
  if (inet_pton(AF_INET, addr.c_str(), &a) != 1) {
    return make_error("bad_target", "'" + std::string(text) + "' is not an IPv4 address or CIDR");
  }
  const uint32_t host = ntohl(a.s_addr);
  const uint32_t mask = prefix == 0 ? 0 : (~uint32_t{0} << (32 - prefix));
  const uint32_t net = host & mask;
  if (prefix >= 31) {
    t.first = net;
    t.last = net | ~mask;
  } else {
    // Skip the network and broadcast addresses of the subnet.
    t.first = net + 1;
    t.last = (net | ~mask) - 1;
  }
  if (prefix == 32) {
    t.first = t.last = host;
  }
  return t;
}

Result<AgentConfig> parse(std::string_view toml_text, std::string_view file_name,
                          settings::Problems& problems, FileChecks files) {
  auto doc_r = settings::parse(toml_text, file_name, specs(), problems);
  if (!doc_r) {
    return doc_r.error();
  }
  const settings::Document& doc = *doc_r;
  auto bad = [&](const std::string& key, const std::string& what) {
    problems.items.push_back(settings::problem(doc, doc.line(key), key, what));
  };

  AgentConfig c;
  c.file = std::string(file_name);
  c.school_id = doc.str("school_id");
  c.agent_id = doc.str("agent_id");
  c.log_level = doc.str("log_level");
  c.health_interval_ms = doc.num("health_interval");
  if (doc.has("school_id") && !valid_identifier(c.school_id)) {
    bad("school_id", "must be 1-128 letters, digits, '-', '_' or '.'");
  }
  if (doc.has("agent_id") && !valid_identifier(c.agent_id)) {
    bad("agent_id", "must be 1-128 letters, digits, '-', '_' or '.'");
  }

  c.central.url = doc.str("central.url");
  while (!c.central.url.empty() && c.central.url.back() == '/') {
    c.central.url.pop_back();
  }
  if (auto u = url_host_port(c.central.url, /*https_only=*/true); doc.has("central.url") && !u) {
    bad("central.url", u.error().message);
  }
  c.central.ca_file = doc.str("central.ca_file");
  c.central.token = doc.str("central.token");
  if (doc.has("central.token") && c.central.token.empty()) {
    bad("central.token", "must not be empty");
  }
  c.central.proxy = doc.str("central.proxy");
  if (!c.central.proxy.empty() && c.central.proxy.rfind("http://", 0) != 0 &&
      c.central.proxy.rfind("https://", 0) != 0) {
    bad("central.proxy", "must start with http:// or https://");
  }
  c.central.timeout_ms = doc.num("central.timeout");
  c.central.upload_interval_ms = doc.num("central.upload_interval");
  c.central.retry_cap_ms = doc.num("central.retry_cap");
  c.central.batch_max_records = doc.num("central.batch_max_records");
  c.central.batch_max_bytes = doc.num("central.batch_max_bytes");
  c.central.drain_rate_bps = doc.num("central.drain_rate");

  c.store.path = doc.str("store.path");
  if (c.store.path.empty()) {
    bad("store.path", "must not be empty");
  }
  c.store.max_bytes = doc.num("store.max_size");
  c.store.min_free_bytes = doc.num("store.min_free_disk");
  c.store.commit_interval_ms = doc.num("store.commit_interval");
  c.store.commit_records = doc.num("store.commit_records");

  const std::vector<std::string> targets = doc.list("discovery.snmp_targets");
  for (size_t i = 0; i < targets.size(); ++i) {
    auto t = parse_target(targets[i]);
    if (!t) {
      bad("discovery.snmp_targets[" + std::to_string(i) + "]", t.error().message);
      continue;
    }
    c.discovery.snmp_targets.push_back(*t);
  }
  for (const char* key : {"discovery.snmp_communities", "discovery.snmp_v1_communities"}) {
    const auto list = doc.list(key);
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].empty()) {
        bad(std::string(key) + "[" + std::to_string(i) + "]", "must not be empty");
      }
    }
  }
  c.discovery.snmp_communities = doc.list("discovery.snmp_communities");
  c.discovery.snmp_v1_communities = doc.list("discovery.snmp_v1_communities");
  for (size_t i = 0; i < doc.count("discovery.snmp_v3"); ++i) {
    const std::string p = "discovery.snmp_v3[" + std::to_string(i) + "].";
    SnmpV3User u;
    u.user = doc.str(p + "user");
    u.auth_protocol = doc.str(p + "auth_protocol");
    u.auth_key = doc.str(p + "auth_key");
    u.priv_protocol = doc.str(p + "priv_protocol");
    u.priv_key = doc.str(p + "priv_key");
    if (u.user.empty()) {
      bad(p + "user", "must not be empty");
    }
    if (u.auth_key.size() < 8) {
      bad(p + "auth_key", "must be at least 8 characters (RFC 3414)");
    }
    if (u.priv_protocol != "none" && u.priv_key.size() < 8) {
      bad(p + "priv_key", "must be at least 8 characters unless priv_protocol = \"none\"");
    }
    c.discovery.snmp_v3.push_back(std::move(u));
  }
  c.discovery.snmp_timeout_ms = doc.num("discovery.snmp_timeout");
  c.discovery.snmp_retries = doc.num("discovery.snmp_retries");
  c.discovery.snmp_concurrency = doc.num("discovery.snmp_concurrency");
  c.discovery.max_targets = doc.num("discovery.max_targets");
  c.discovery.sweep_rate = doc.num("discovery.sweep_rate");
  c.discovery.walk_timeout_ms = doc.num("discovery.walk_timeout");
  c.discovery.walk_max_rows = doc.num("discovery.walk_max_rows");
  c.discovery.device_timeout_ms = doc.num("discovery.device_timeout");
  c.discovery.device_max_rows = doc.num("discovery.device_max_rows");
  c.discovery.mdns_interfaces = doc.list("discovery.mdns_interfaces");
  c.discovery.mdns_wait_ms = doc.num("discovery.mdns_wait");
  c.discovery.interval_ms = doc.num("discovery.interval");
  c.discovery.gone_after_passes = doc.num("discovery.gone_after");
  c.discovery.classify_rules = doc.str("discovery.classify_rules");

  c.probes.ca_file = doc.str("probes.ca_file");
  c.probes.timeout_ms = doc.num("probes.timeout");
  c.probes.summary_window_ms = doc.num("probes.summary_window");

  std::set<std::string> names;
  for (size_t i = 0; i < doc.count("probe"); ++i) {
    const std::string p = "probe[" + std::to_string(i) + "].";
    ProbeConfig pc;
    pc.name = doc.str(p + "name");
    const std::string kind = doc.str(p + "kind");
    pc.target = doc.str(p + "target");
    pc.interval_ms = doc.num(p + "interval");
    pc.timeout_ms = doc.has(p + "timeout") ? doc.num(p + "timeout") : c.probes.timeout_ms;
    pc.resolver = doc.str(p + "resolver");
    pc.ca_file = doc.str(p + "ca_file");
    if (pc.ca_file.empty()) {
      pc.ca_file = c.probes.ca_file;
    }
    if (pc.name.empty()) {
      bad(p + "name", "must not be empty");
    } else if (!names.insert(pc.name).second) {
      bad(p + "name", "'" + pc.name + "' is used by another probe; names must be unique");
    }
    Result<std::pair<std::string, uint16_t>> hp = make_error("unset");
    if (kind.empty()) {
      c.probes_list.push_back(std::move(pc));
      continue;  // the kind was wrong and is already reported; its target cannot be judged
    }
    if (kind == "dns") {
      pc.kind = ProbeKind::dns;
      hp = split_host_port(pc.target, 53);
      if (hp && hp->second != 53) {
        hp = make_error("bad_target", "a dns target is a host name without a port");
      }
    } else if (kind == "tcp") {
      pc.kind = ProbeKind::tcp;
      hp = split_host_port(pc.target, 0);
    } else if (kind == "tls") {
      pc.kind = ProbeKind::tls;
      hp = split_host_port(pc.target, 443);
    } else {
      pc.kind = ProbeKind::https;
      hp = url_host_port(pc.target, /*https_only=*/false);
    }
    if (!hp) {
      bad(p + "target", hp.error().message);
    } else {
      pc.host = hp->first;
      pc.port = pc.kind == ProbeKind::dns ? 0 : hp->second;
    }
    if (!pc.resolver.empty()) {
      if (pc.kind != ProbeKind::dns) {
        bad(p + "resolver", "only dns probes take a resolver");
      } else if (auto r = split_host_port(pc.resolver, 53); !r) {
        bad(p + "resolver", r.error().message);
      }
    }
    c.probes_list.push_back(std::move(pc));
  }

  // Files the agent will need later are checked now, so a typo shows at `config check` and not
  // at the first upload.
  auto readable = [&](const std::string& key, const std::string& path) {
    if (files == FileChecks::on && !path.empty() && ::access(path.c_str(), R_OK) != 0) {
      bad(key, "cannot read '" + path + "': " + std::strerror(errno));
    }
  };
  readable("central.ca_file", c.central.ca_file);
  readable("probes.ca_file", c.probes.ca_file);
  readable("discovery.classify_rules", c.discovery.classify_rules);
  for (size_t i = 0; i < c.probes_list.size(); ++i) {
    const std::string key = "probe[" + std::to_string(i) + "].ca_file";
    if (doc.has(key)) {
      readable(key, c.probes_list[i].ca_file);
    }
  }
  if (!problems.empty()) {
    problems.sort_by_line();
    return make_error("config_invalid", problems.joined());
  }
  return c;
}

Result<AgentConfig> load(const std::string& path, settings::Problems& problems, FileChecks files) {
  std::string text;
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
      problems.items.push_back(path + ": cannot open the file");
      return make_error("config_unreadable", problems.items.back());
    }
    char buf[8192];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
      text.append(buf, n);
      if (text.size() > (1u << 20)) {
        std::fclose(f);
        problems.items.push_back(path + ": the file is larger than 1 MiB");
        return make_error("config_too_large", problems.items.back());
      }
    }
    std::fclose(f);
  }
  return parse(text, path, problems, files);
}

}  // namespace schoolnet::config
