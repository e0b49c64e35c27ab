#include "central/config/config.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstdio>
#include <set>

namespace schoolnet::central {

namespace {

using settings::Spec;
using settings::Type;

const std::vector<Spec>& specs() {
  static const std::vector<Spec> table = {
      {"server.listen", Type::string, "", true,
       "Address and port to listen on: `198.18.0.100:8443` or `[2001:db8::1]:8443`."},
      {"server.tls_cert", Type::string, "", true,
       "PEM file with the server certificate followed by any intermediate certificates."},
      {"server.tls_key", Type::string, "", true, "PEM file with the server's private key."},
      {"server.maintenance_file", Type::string, "", false,
       "While this file exists, `POST /v1/batches` answers 503 with `Retry-After` set to the "
       "file's content in seconds (30 when empty or not a number)."},
      {"server.threads", Type::integer, "2", false, "Threads serving HTTPS requests.", 1, 64},
      {"server.max_body", Type::size, "4MiB", false,
       "Largest compressed request body; larger uploads get 413.", 1024, int64_t{1} << 30},
      {"server.max_decompressed", Type::size, "32MiB", false,
       "Largest batch after gzip inflation; larger batches get 413.", 1024, int64_t{1} << 30},
      {"server.max_records", Type::integer, "20000", false,
       "Most records accepted in one batch; more get 413.", 1, 10'000'000},
      {"server.agent_rate", Type::integer, "20", false,
       "Uploads per second allowed per agent credential (token bucket, burst of one second); "
       "more get 429 with `Retry-After`. 0 turns the limit off.",
       0, 100'000},
      {"store.path", Type::string, "", true, "SQLite database file (created when missing)."},
      {"store.retention", Type::duration, "400d", false,
       "Records observed longer ago than this are deleted by an hourly sweep.", 3'600'000},
      {"api_token", Type::table_array, "", false,
       "Read access to the JSON API and `/metrics`; one `[[api_token]]` table per token."},
      {"api_token[].token", Type::secret, "", true, "The bearer token (never logged)."},
      {"api_token[].schools", Type::string_list, "", true,
       "School ids (URNs) this token may read, or `[\"*\"]` for every school. Only `*` tokens "
       "may delete a school's data."},
      {"agent", Type::table_array, "", false, "One `[[agent]]` table per enrolled agent token."},
      {"agent[].token", Type::secret, "", true, "The agent's bearer token (never logged)."},
      {"agent[].school_id", Type::string, "", true,
       "The school (URN) the token belongs to; batches for any other school get 403."},
      {"agent[].agent_id", Type::string, "", false,
       "Binds the token to one agent id; batches from any other agent id get 403."},
  };
  return table;
}

// True for a printable ASCII string without spaces and '/'; used for ids in paths and labels.
bool is_safe_id(std::string_view id, size_t max_len) {
  if (id.empty() || id.size() > max_len) {
    return false;
  }
  for (const char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%') {
      return false;
    }
  }
  return true;
}

void check(Config& cfg, settings::Problems& problems) {
  const settings::Document& doc = cfg.doc;
  auto add = [&](const std::string& key, const std::string& what) {
    problems.items.push_back(settings::problem(doc, doc.line(key), key, what));
  };

  if (doc.has("server.listen")) {
    auto listen = parse_listen_address(cfg.listen_text);
    if (!listen) {
      add("server.listen", listen.error().message);
    } else {
      cfg.listen = *listen;
    }
  }

  std::set<std::string> tokens;
  for (size_t i = 0; i < cfg.api_tokens.size(); ++i) {
    const std::string base = "api_token[" + std::to_string(i) + "]";
    ApiCredentialConfig& t = cfg.api_tokens[i];
    if (!doc.has(base + ".token")) {
      // missing or wrong: already reported
    } else if (t.token.empty()) {
      add(base + ".token", "must not be empty");
    } else if (!tokens.insert(t.token).second) {
      add(base + ".token", "the same token appears more than once");
    }
    if (doc.has(base + ".schools") && t.schools.empty()) {
      add(base + ".schools", "list at least one school id, or \"*\" for every school");
    }
    for (size_t j = 0; j < t.schools.size(); ++j) {
      const std::string& s = t.schools[j];
      if (s == "*") {
        t.all_schools = true;
      } else if (!is_valid_school_id(s)) {
        add(base + ".schools[" + std::to_string(j) + "]", "'" + s + "' is not a valid school id");
      }
    }
  }
  for (size_t i = 0; i < cfg.agents.size(); ++i) {
    const std::string base = "agent[" + std::to_string(i) + "]";
    const AgentCredentialConfig& a = cfg.agents[i];
    if (!doc.has(base + ".token")) {
      // missing or wrong: already reported
    } else if (a.token.empty()) {
      add(base + ".token", "must not be empty");
    } else if (!tokens.insert(a.token).second) {
      add(base + ".token", "the same token appears more than once");
    }
    if (doc.has(base + ".school_id") && !is_valid_school_id(a.school_id)) {
      add(base + ".school_id",
          "'" + a.school_id + "' is not a valid school id (1-64 printable characters, no '/')");
    }
    if (!a.agent_id.empty() && !is_safe_id(a.agent_id, 128)) {
      add(base + ".agent_id", "'" + a.agent_id + "' is not a valid agent id");
    }
  }
}

}  // namespace

std::span<const settings::Spec> config_spec() {
  return specs();
}

std::string Config::problem(std::string_view key, std::string_view what) const {
  return settings::problem(doc, doc.line(std::string(key)), key, what);
}

bool is_valid_school_id(std::string_view id) {
  return is_safe_id(id, 64);
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress out;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error("bad_listen", "'" + std::string(text) + "' is not [IPv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return make_error("bad_listen", "'" + std::string(host) + "' is not an IPv6 address");
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return make_error("bad_listen", "'" + std::string(text) +
                                          "' has no port (use address:port, or [IPv6]:port)");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    in_addr a4{};
    if (inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
      return make_error("bad_listen", "'" + std::string(host) +
                                          "' is not an IPv4 address (write IPv6 as [addr]:port)");
    }
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    return make_error("bad_listen", "'" + std::string(port) + "' is not a port number");
  }
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(value);
  return out;
}

Result<Config> load_config_text(std::string_view toml_text, std::string_view file_name,
                                settings::Problems& problems) {
  // settings::parse fails only on TOML syntax; wrong values are in `problems` and left out of
  // the document, so the checks below still run on everything else.
  auto parsed = settings::parse(toml_text, file_name, specs(), problems);
  if (!parsed) {
    return parsed.error();
  }
  Config cfg;
  cfg.doc = std::move(parsed.value());
  const settings::Document& doc = cfg.doc;
  cfg.listen_text = doc.str("server.listen");
  cfg.tls_cert = doc.str("server.tls_cert");
  cfg.tls_key = doc.str("server.tls_key");
  cfg.maintenance_file = doc.str("server.maintenance_file");
  cfg.threads = static_cast<int>(doc.num("server.threads"));
  cfg.max_body = doc.num("server.max_body");
  cfg.max_decompressed = doc.num("server.max_decompressed");
  cfg.max_records = doc.num("server.max_records");
  cfg.agent_rate = doc.num("server.agent_rate");
  cfg.store_path = doc.str("store.path");
  cfg.retention_ms = doc.num("store.retention");
  for (size_t i = 0; i < doc.count("api_token"); ++i) {
    const std::string base = "api_token[" + std::to_string(i) + "]";
    ApiCredentialConfig t;
    t.token = doc.str(base + ".token");
    t.schools = doc.list(base + ".schools");
    cfg.api_tokens.push_back(std::move(t));
  }
  for (size_t i = 0; i < doc.count("agent"); ++i) {
    const std::string base = "agent[" + std::to_string(i) + "]";
    AgentCredentialConfig a;
    a.token = doc.str(base + ".token");
    a.school_id = doc.str(base + ".school_id");
    a.agent_id = doc.str(base + ".agent_id");
    cfg.agents.push_back(std::move(a));
  }
  check(cfg, problems);
  problems.sort_by_line();
  if (!problems.empty()) {
    return make_error("config_invalid", problems.joined());
  }
  return cfg;
}

Result<Config> load_config_file(const std::string& path, settings::Problems& problems) {
  // Read through settings so that an unreadable file is reported the same way as a bad one.
  std::string text;
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      problems.items.push_back(path + ": cannot open the file");
      return make_error("config_unreadable", problems.items.back());
    }
    char buf[8192];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
      text.append(buf, n);
      if (text.size() > (size_t{16} << 20)) {
        std::fclose(f);
        problems.items.push_back(path + ": the file is larger than 16 MiB");
        return make_error("config_unreadable", problems.items.back());
      }
    }
    std::fclose(f);
  }
  return load_config_text(text, path, problems);
}

}  // namespace schoolnet::central
