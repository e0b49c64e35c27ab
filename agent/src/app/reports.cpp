#include "app/reports.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <boost/json.hpp>

#include "app/agent.hpp"
#include "core/text.hpp"
#include "discovery/classify.hpp"
#include "store/agent_store.hpp"

namespace schoolnet::app {

namespace json = boost::json;

Result<store::AgentStore> open_for_reading(const config::AgentConfig& config, const Clock& clock) {
  auto s = store::AgentStore::open(config.store.path, clock, nullptr, /*read_only=*/true);
  if (!s) {
    return make_error(s.error().code, "cannot read the agent's store " + config.store.path + ": " +
                                          s.error().message +
                                          " (has the agent run yet? is this the right config?)");
  }
  return s;
}

int print_status(const config::AgentConfig& config, const Clock& clock, Format format) {
  auto store = open_for_reading(config, clock);
  if (!store) {
    std::fprintf(stderr, "schoolnet-agent: %s\n", store.error().message.c_str());
    return kExitStore;
  }
  auto a = store->accounting();
  if (!a && a.error().message.find("no such table") != std::string::npos) {
    a = store::Accounting{};  // the agent has created the file but not yet its tables
  }
  if (!a) {
    std::fprintf(stderr, "schoolnet-agent: %s\n", a.error().to_string().c_str());
    return kExitStore;
  }
  auto state = [&](const char* key) {
    auto v = store->get_state(key);
    return v && v->has_value() ? **v : std::string{};
  };
  const std::string last_ok = state("uplink_last_ok_ms");
  // The store is untrusted too: text that is not a number reads as "never".
  const int64_t last_ok_ms = std::strtoll(last_ok.c_str(), nullptr, 10);
  const std::string last_error = state("uplink_last_error");
  const std::string last_outcome = state("uplink_last_outcome");
  // A problem people must fix, as opposed to one that passes (central down, a 503).
  std::string problem;
  if (last_outcome == "credentials") {
    problem = "credentials: central refuses this agent's token (401/403); check central.token";
  } else if (last_outcome == "endpoint") {
    problem = "endpoint: central.url does not lead to central's upload endpoint";
  } else if (last_error.rfind("clock_unsynchronised", 0) == 0) {
    problem = "clock: the wall clock is not synchronised, so TLS certificates look invalid";
  } else if (last_error.rfind("proxy", 0) == 0) {
    problem = "proxy: the HTTPS proxy refused the connection; check central.proxy or https_proxy";
  }
  auto flight = store->in_flight();
  const int64_t now = clock.wall_ms();
  const int64_t oldest_age_s = a->oldest_pending_ms > 0 ? (now - a->oldest_pending_ms) / 1000 : 0;
  if (format == Format::json) {
    json::object o;
    o["school_id"] = config.school_id;
    o["agent_id"] = config.agent_id;
    o["version"] = kAgentVersion;
    o["store"] = config.store.path;
    o["store_bytes"] = store->file_bytes();  // the database file and its WAL
    {
      std::error_code ec;
      const auto wal = std::filesystem::file_size(config.store.path + "-wal", ec);
      o["store_wal_bytes"] = ec ? 0 : wal;
    }
    o["last_upload_ok"] =
        last_ok_ms > 0 ? json::value(format_utc_ms(last_ok_ms)) : json::value(nullptr);
    o["last_upload_ok_ms"] = last_ok_ms;
    o["last_upload_error"] = last_error;
    o["last_upload_outcome"] = last_outcome;
    o["upload_problem"] = problem;
    o["clock_synchronised"] = clock.synchronised();
    json::object backlog{{"records", a->pending_records},
                         {"bytes", a->pending_bytes},
                         {"oldest_age_s", oldest_age_s}};
    if (flight && flight->has_value()) {
      backlog["in_flight"] =
          json::object{{"seq", (*flight)->first}, {"records", (*flight)->second}};
    } else {
      backlog["in_flight"] = nullptr;
    }
    o["backlog"] = std::move(backlog);
    json::object evicted;
    for (const auto& [k, v] : a->evicted) {
      evicted[k] = v;
    }
    o["counters"] = json::object{{"produced", a->produced},
                                 {"acked", a->acked},
                                 {"pending", a->pending_records},
                                 {"evicted", a->evicted_total},
                                 {"quarantined", a->quarantined},
                                 {"evicted_by_kind", std::move(evicted)},
                                 {"store_resets", a->store_resets},
                                 {"batches_acked", a->batches_acked},
                                 {"lost_uncommitted", a->lost_uncommitted}};
    o["balanced"] = a->balanced();
    std::cout << json::serialize(o) << "\n";
    return kExitOk;
  }
  std::printf("school %s, agent %s (version %s)\n", config.school_id.c_str(),
              config.agent_id.c_str(), kAgentVersion);
  std::printf("last successful upload: %s\n",
              last_ok_ms > 0 ? format_utc_ms(last_ok_ms).c_str() : "never");
  if (!last_error.empty()) {
    std::printf("last upload error:      %s\n", last_error.c_str());
  }
  if (!problem.empty()) {
    std::printf("needs attention:        %s\n", problem.c_str());
  }
  std::printf("backlog:                %llu records, %llu bytes, oldest %llds old\n",
              static_cast<unsigned long long>(a->pending_records),
              static_cast<unsigned long long>(a->pending_bytes),
              static_cast<long long>(oldest_age_s));
  std::printf(
      "records:                %llu produced = %llu acked + %llu pending + %llu evicted + %llu "
      "quarantined%s\n",
      static_cast<unsigned long long>(a->produced), static_cast<unsigned long long>(a->acked),
      static_cast<unsigned long long>(a->pending_records),
      static_cast<unsigned long long>(a->evicted_total),
      static_cast<unsigned long long>(a->quarantined), a->balanced() ? "" : "  (MISMATCH)");
  for (const auto& [k, v] : a->evicted) {
    std::printf("  evicted %-30s %llu\n", k.c_str(), static_cast<unsigned long long>(v));
  }
  if (a->lost_uncommitted > 0) {
    std::printf("  never committed (store refused commits): %llu records dropped\n",
                static_cast<unsigned long long>(a->lost_uncommitted));
  }
  std::printf("clock:                  %s\n",
              clock.synchronised() ? "synchronised" : "NOT synchronised");
  std::printf("store:                  %s (%llu bytes, %llu resets)\n", config.store.path.c_str(),
              static_cast<unsigned long long>(store->file_bytes()),
              static_cast<unsigned long long>(a->store_resets));
  return kExitOk;
}

}  // namespace schoolnet::app
