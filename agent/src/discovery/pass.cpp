#include "discovery/pass.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "core/log.hpp"

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

}  // namespace

std::vector<std::string> expand_targets(const config::DiscoveryConfig& cfg,
                                        std::vector<std::string>* problems) {
  std::vector<config::SnmpTarget> targets = cfg.snmp_targets;
  if (targets.empty()) {
    for (const LocalInterface& li : local_interfaces()) {
      // Never sweep more than a /22 by default, whatever netmask the school uses.
      const int len = std::max(li.prefix_len, 22);
      auto t = config::parse_target(li.address + "/" + std::to_string(len));
      if (t) {
        targets.push_back(*t);
      }
    }
  }
  std::vector<std::string> out;
  std::set<uint32_t> seen;
  for (const auto& t : targets) {
    for (uint64_t a = t.first; a <= t.last; ++a) {
      if (static_cast<int64_t>(out.size()) >= cfg.max_targets) {
        if (problems) {
          problems->push_back("more than discovery.max_targets=" + std::to_string(cfg.max_targets) +
                              " addresses to ask; the rest were skipped");
        }
        return out;
      }
      if (seen.insert(static_cast<uint32_t>(a)).second) {
        out.push_back(ipv4_text(static_cast<uint32_t>(a)));
      }
    }
  }
  return out;
}

PassResult run_pass(const PassOptions& options) {
  PassResult result;
  const int64_t start = steady_ms();
  const config::DiscoveryConfig& cfg = options.config;
  const std::vector<std::string> targets = expand_targets(cfg, &result.problems);
  result.snmp_targets = targets.size();
  std::set<std::string> explicit_targets;
  for (const auto& t : cfg.snmp_targets) {
    if (t.first == t.last) {
      explicit_targets.insert(t.text);
    }
  }
  result.observations.explicit_targets = explicit_targets;

  std::vector<Credential> credentials;
  for (const std::string& c : cfg.snmp_communities) {
    Credential cred;
    cred.version = SnmpVersion::v2c;
    cred.community = c;
    credentials.push_back(cred);
  }
  const SessionOpener opener = options.opener ? options.opener : SessionOpener(open_netsnmp);

  // mDNS runs beside the SNMP workers: a pass lasts as long as the slowest of them.
  BrowseResult mdns;
  std::thread mdns_thread([&] {
    BrowseOptions b;
    b.interfaces = cfg.mdns_interfaces;
    b.wait_ms = cfg.mdns_wait_ms;
    mdns = browse_mdns(b);
  });

  std::mutex mu;
  std::atomic<size_t> next{0};
  std::vector<SnmpSystem> systems(targets.size());
  const size_t workers =
      std::min<size_t>(static_cast<size_t>(cfg.snmp_concurrency), targets.size());
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers && !credentials.empty(); ++w) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < targets.size(); i = next++) {
        DeviceQueryOptions q;
        q.session.address = targets[i];
        q.session.timeout_ms = cfg.snmp_timeout_ms;
        q.session.retries = static_cast<int>(cfg.snmp_retries);
        q.credentials = credentials;
        auto pref = options.preferred_credential.find(targets[i]);
        q.preferred_credential = pref == options.preferred_credential.end() ? -1 : pref->second;
        try {
          systems[i] = query_system(q, opener);
        } catch (const std::exception& e) {
          // A library failure on one device must not end the pass.
          systems[i].address = targets[i];
          systems[i].error = "internal";
          std::lock_guard lock(mu);
          result.problems.push_back(targets[i] + ": " + e.what());
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  mdns_thread.join();

  for (SnmpSystem& s : systems) {
    if (s.responded) {
      ++result.snmp_answered;
      result.credential_used[s.address] = s.credential_index;
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
  result.duration_ms = steady_ms() - start;
  return result;
}

}  // namespace schoolnet::discovery
