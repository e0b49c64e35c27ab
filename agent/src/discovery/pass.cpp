#include "discovery/pass.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/log.hpp"
#include "discovery/sweep.hpp"

namespace schoolnet::discovery {

namespace {

std::string ipv4_text(uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct QueryContext {
  const config::DiscoveryConfig& cfg;
  const PassOptions& options;
  const std::vector<Credential>& credentials;
  const SessionOpener& opener;
  bool check_silence;  // on the real network: tell silence from garbage (why_unanswered)
};

struct DeviceOutcome {
  SnmpSystem system;
  DeviceDetails details;
  std::optional<WalkTuning> tuning;
};

// Asks every address in full (system group, then the tables), many at once.
std::vector<DeviceOutcome> query_devices(const std::vector<std::string>& addresses,
                                         const std::map<std::string, int>& preferred,
                                         const QueryContext& ctx,
                                         std::vector<std::string>& problems) {
  std::vector<DeviceOutcome> out(addresses.size());
  std::mutex mu;
  std::atomic<size_t> next{0};
  const size_t workers =
      std::min<size_t>(static_cast<size_t>(ctx.cfg.snmp_concurrency), addresses.size());
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers && !ctx.credentials.empty(); ++w) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < addresses.size(); i = next++) {
        DeviceOutcome& o = out[i];
        DeviceQueryOptions q;
        q.session.address = addresses[i];
        q.session.timeout_ms = ctx.cfg.snmp_timeout_ms;
        q.session.retries = static_cast<int>(ctx.cfg.snmp_retries);
        q.credentials = ctx.credentials;
        auto pref = preferred.find(addresses[i]);
        q.preferred_credential = pref == preferred.end() ? -1 : pref->second;
        try {
          o.system = query_system(q, ctx.opener);
          if (!o.system.responded) {
            if (o.system.error == "no_answer" && ctx.check_silence) {
              // Silence or garbage? A device that answers junk is broken, not absent.
              const auto communities = community_credentials(ctx.cfg);
              if (!communities.empty()) {
                o.system.error = why_unanswered(addresses[i], q.session.port, communities[0],
                                                ctx.cfg.snmp_timeout_ms);
              }
            }
            continue;
          }
          // The tables, over a session with the credential that answered.
          WalkTuning tuning;
          if (auto t = ctx.options.tuning.find(addresses[i]); t != ctx.options.tuning.end()) {
            tuning = t->second;
          }
          auto session = ctx.opener(
              q.session, ctx.credentials[static_cast<size_t>(o.system.credential_index)]);
          if (session) {
            TableOptions to;
            to.presence_roots = ctx.options.presence_roots;
            to.budget.max_ms = ctx.cfg.walk_timeout_ms;
            to.budget.max_rows = static_cast<size_t>(ctx.cfg.walk_max_rows);
            to.device_budget_ms = ctx.cfg.device_timeout_ms;
            to.device_max_rows = static_cast<size_t>(ctx.cfg.device_max_rows);
            o.details = collect_details(**session, tuning, to);
          }
          o.tuning = tuning;
        } catch (const std::exception& e) {
          // A library failure on one device must not end the pass.
          o.system.address = addresses[i];
          o.system.error = "internal";
          std::lock_guard lock(mu);
          problems.push_back(addresses[i] + ": " + e.what());
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  return out;
}

}  // namespace

Targets expand_targets(const config::DiscoveryConfig& cfg, std::vector<std::string>* problems) {
  Targets out;
  std::vector<config::SnmpTarget> subnets;
  std::set<uint32_t> seen;
  for (const auto& t : cfg.snmp_targets) {
    if (t.first == t.last) {
      if (seen.insert(t.first).second) {
        out.explicit_addresses.push_back(ipv4_text(t.first));
      }
    } else {
      subnets.push_back(t);
    }
  }
  if (cfg.snmp_targets.empty()) {
    for (const LocalInterface& li : local_interfaces()) {
      // Never sweep more than a /22 by default, whatever netmask the school uses.
      const int len = std::max(li.prefix_len, 22);
      auto t = config::parse_target(li.address + "/" + std::to_string(len));
      if (t) {
        subnets.push_back(*t);
      }
    }
  }
  for (const auto& t : subnets) {
    for (uint64_t a = t.first; a <= t.last; ++a) {
      if (static_cast<int64_t>(out.sweep.size() + out.explicit_addresses.size()) >=
          cfg.max_targets) {
        if (problems) {
          problems->push_back("more than discovery.max_targets=" + std::to_string(cfg.max_targets) +
                              " addresses to cover; the rest were skipped");
        }
        return out;
      }
      if (seen.insert(static_cast<uint32_t>(a)).second) {
        out.sweep.push_back(ipv4_text(static_cast<uint32_t>(a)));
      }
    }
  }
  return out;
}

std::vector<Credential> community_credentials(const config::DiscoveryConfig& cfg) {
  std::vector<Credential> out;
  for (const auto& [list, version] : {std::pair{&cfg.snmp_communities, SnmpVersion::v2c},
                                      std::pair{&cfg.snmp_v1_communities, SnmpVersion::v1}}) {
    for (const std::string& c : *list) {
      Credential cred;
      cred.version = version;
      cred.community = c;
      out.push_back(cred);
    }
  }
  return out;
}

PassResult run_pass(const PassOptions& options) {
  PassResult result;
  const int64_t start = steady_ms();
  const config::DiscoveryConfig& cfg = options.config;
  const Targets covered = expand_targets(cfg, &result.problems);
  std::set<std::string> explicit_targets(covered.explicit_addresses.begin(),
                                         covered.explicit_addresses.end());
  result.observations.explicit_targets = explicit_targets;
  // v3 users first (the LA configured them to be used where devices can), then the v2c and v1
  // communities. A credential that worked is tried first next time, so a device that speaks
  // only a community pays the v3 attempt once.
  std::vector<Credential> credentials;
  for (const config::SnmpV3User& u : cfg.snmp_v3) {
    Credential cred;
    cred.version = SnmpVersion::v3;
    cred.user = u.user;
    cred.auth_protocol = u.auth_protocol;
    cred.auth_key = u.auth_key;
    cred.priv_protocol = u.priv_protocol;
    cred.priv_key = u.priv_key;
    credentials.push_back(cred);
  }
  const std::vector<Credential> communities = community_credentials(cfg);
  credentials.insert(credentials.end(), communities.begin(), communities.end());
  const SessionOpener opener = options.opener ? options.opener : SessionOpener(open_netsnmp);

  // mDNS runs beside the SNMP workers: a pass lasts as long as the slowest of them.
  BrowseResult mdns;
  std::thread mdns_thread([&] {
    BrowseOptions b;
    b.interfaces = cfg.mdns_interfaces;
    b.wait_ms = cfg.mdns_wait_ms;
    mdns = browse_mdns(b);
  });

  // Single addresses are asked at once, while the sweep of the subnets runs beside them;
  // whoever answers the sweep is asked in full afterwards, with the community that worked.
  QueryContext ctx{cfg, options, credentials, opener, !options.opener};
  SweepResult sw;
  std::thread sweep_thread;
  if (!covered.sweep.empty()) {
    sweep_thread = std::thread([&] {
      SweepOptions so;
      so.addresses = covered.sweep;
      so.communities = community_credentials(cfg);
      so.packets_per_second = cfg.sweep_rate;
      sw = sweep(so);
    });
  }
  std::vector<DeviceOutcome> outcomes =
      query_devices(covered.explicit_addresses, options.preferred_credential, ctx, result.problems);
  if (sweep_thread.joinable()) {
    sweep_thread.join();
    result.swept = covered.sweep.size();
    result.sweep_responders = sw.responders.size();
    if (!sw.error.empty()) {
      result.problems.push_back("sweep: " + sw.error);
    }
    std::vector<std::string> found;
    std::map<std::string, int> preferred = options.preferred_credential;
    for (const auto& [addr, community] : sw.responders) {
      if (!explicit_targets.count(addr)) {
        found.push_back(addr);
        preferred[addr] = static_cast<int>(cfg.snmp_v3.size()) + community;
      }
    }
    auto more = query_devices(found, preferred, ctx, result.problems);
    std::move(more.begin(), more.end(), std::back_inserter(outcomes));
  }
  result.snmp_ms = steady_ms() - start;
  mdns_thread.join();
  result.snmp_targets = outcomes.size();

  for (DeviceOutcome& o : outcomes) {
    SnmpSystem& s = o.system;
    if (s.responded) {
      ++result.snmp_answered;
      result.credential_used[s.address] = s.credential_index;
      result.observations.details[s.address] = std::move(o.details);
    }
    if (o.tuning) {
      result.tuning[s.address] = *o.tuning;
    }
    if (s.responded || explicit_targets.count(s.address)) {
      result.observations.snmp.push_back(std::move(s));
    }
  }
  for (const auto& p : mdns.problems) {
    result.problems.push_back("mdns: " + p);
  }
  result.observations.mdns = std::move(mdns.hosts);

  // Devices that only spoke mDNS may not be in the neighbour table yet: prompt the kernel to
  // resolve them (they are on our own subnet: they answered a link-local multicast query).
  const auto interfaces = local_interfaces();
  auto table = neighbour_table();
  std::set<std::string> known;
  if (table) {
    for (const auto& n : *table) {
      known.insert(n.address);
    }
  }
  std::vector<std::string> unresolved;
  for (const auto& h : result.observations.mdns) {
    for (const auto& a : h.addresses) {
      if (!known.count(a) && on_local_subnet(a, interfaces)) {
        unresolved.push_back(a);
      }
    }
  }
  if (!unresolved.empty()) {
    prompt_neighbour_resolution(unresolved);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    table = neighbour_table();
  }
  if (table) {
    result.observations.neighbours = std::move(*table);
  } else {
    result.problems.push_back("neighbour table: " + table.error().message);
  }
  result.observations.gateway = default_gateway();
  for (const config::SnmpTarget& t : cfg.snmp_targets) {
    result.observations.school_ranges.emplace_back(t.first, t.last);
  }
  result.duration_ms = steady_ms() - start;
  return result;
}

}  // namespace schoolnet::discovery
