// A small stub resolver over our own DNS codec, so that every probe measures name resolution
// the same way, with its own timeout, and names the failure precisely (NXDOMAIN, SERVFAIL,
// timeout, no address) instead of getaddrinfo's "temporary failure".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "probes/asio.hpp"

namespace schoolnet::probes {

struct Resolution {
  std::vector<std::string> addresses;  // IPv4, in answer order
  std::string error_class;  // empty when addresses were found: dns_timeout, dns_nxdomain,
                            // dns_servfail, dns_refused, dns_no_answer, dns_bad_response,
                            // dns_no_resolver
  std::string error_detail;
  std::string resolver;  // the server that answered (or was last tried)
  double ms = 0;
  bool ok() const { return error_class.empty(); }
};

// Nameservers from resolv.conf (at most three, as the C library uses).
std::vector<std::string> system_resolvers(const std::string& resolv_conf = "/etc/resolv.conf");

// Resolves `host` to IPv4 addresses. An IP literal is returned as is without asking anyone.
// `servers` are "addr" or "addr:port"; each is tried in turn after a timeout or SERVFAIL.
awaitable<Resolution> resolve_a(std::string host, std::vector<std::string> servers,
                                int64_t timeout_ms);

}  // namespace schoolnet::probes
