// The socket side of mDNS browsing: per interface, one UDP socket for IPv4 bound to the
// interface's address and one for IPv6, each on an ephemeral port, so responders answer us by
// unicast (RFC 6762 section 6.7, "legacy unicast"): queries go to 224.0.0.251 and to ff02::fb
// on that link. Runs on a discovery worker thread: plain poll(), no event loop needed.
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sys/socket.h>
#include <unistd.h>

#include "discovery/mdns.hpp"
#include "discovery/netinfo.hpp"

namespace schoolnet::discovery {

namespace {

constexpr int64_t kRoundMs = 400;  // gap between rounds of follow-up questions
constexpr size_t kMaxProblems = 20;

struct Socket {
  int fd = -1;
  int family = AF_INET;
  int if_index = 0;
  std::string interface;
  ~Socket() {
    if (fd >= 0) {
      close(fd);
    }
  }
  Socket() = default;
  Socket(Socket&& o) noexcept
      : fd(o.fd), family(o.family), if_index(o.if_index), interface(std::move(o.interface)) {
    o.fd = -1;
  }
  Socket& operator=(Socket&&) = delete;
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string open_socket(const LocalInterface& li, Socket& s) {
  s.interface = li.name;
  s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s.fd < 0) {
    return std::strerror(errno);
  }
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, li.address.c_str(), &local.sin_addr);
  if (bind(s.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    return std::string("bind: ") + std::strerror(errno);
  }
  ip_mreqn mreq{};
  mreq.imr_address = local.sin_addr;
  mreq.imr_ifindex = li.index;
  if (setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) != 0) {
    return std::string("IP_MULTICAST_IF: ") + std::strerror(errno);
  }
  const int ttl = 255;
  setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  const int loop = 0;
  setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  return {};
}

// The interface's IPv6 side, for responders that answer over IPv6 (or only there). A box
// without IPv6 on the link simply has no such socket; that is not a problem worth reporting.
bool open_socket6(const LocalInterface& li, Socket& s) {
  s.interface = li.name;
  s.family = AF_INET6;
  s.if_index = li.index;
  s.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s.fd < 0) {
    return false;
  }
  const int on = 1;
  setsockopt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  sockaddr_in6 local{};
  local.sin6_family = AF_INET6;
  local.sin6_addr = in6addr_any;
  const unsigned index = static_cast<unsigned>(li.index);
  const int hops = 255;
  const int loop = 0;
  return bind(s.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0 &&
         setsockopt(s.fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) == 0 &&
         setsockopt(s.fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) == 0 &&
         setsockopt(s.fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop) == 0;
}

}  // namespace

BrowseResult browse_mdns(const BrowseOptions& options) {
  BrowseResult result;
  std::vector<LocalInterface> chosen;
  const auto all = local_interfaces();
  if (options.interfaces.empty()) {
    chosen = all;
  } else {
    for (const std::string& name : options.interfaces) {
      bool found = false;
      for (const auto& li : all) {
        if (li.name == name) {
          chosen.push_back(li);
          found = true;
          break;  // the first IPv4 address of the interface
        }
      }
      if (!found) {
        result.problems.push_back("interface " + name + " is not up or has no IPv4 address");
      }
    }
  }
  std::vector<Socket> sockets;
  for (const auto& li : chosen) {
    Socket s;
    const std::string err = open_socket(li, s);
    if (!err.empty()) {
      result.problems.push_back("interface " + li.name + ": " + err);
      continue;
    }
    sockets.push_back(std::move(s));
    if (options.ipv6) {
      Socket s6;
      if (open_socket6(li, s6)) {
        sockets.push_back(std::move(s6));
      }
    }
  }
  if (sockets.empty()) {
    return result;
  }
  MdnsBrowser browser;
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(5353);
  inet_pton(AF_INET, "224.0.0.251", &group.sin_addr);
  sockaddr_in6 group6{};
  group6.sin6_family = AF_INET6;
  group6.sin6_port = htons(5353);
  inet_pton(AF_INET6, "ff02::fb", &group6.sin6_addr);
  std::mt19937 gen(std::random_device{}());
  size_t malformed = 0;

  const int64_t deadline = now_ms() + options.wait_ms;
  int64_t next_round = now_ms();
  std::array<uint8_t, 9000> buf{};
  while (now_ms() < deadline) {
    if (now_ms() >= next_round) {
      for (const auto& packet : browser.next_questions()) {
        const auto bytes = dns::build_query(static_cast<uint16_t>(gen()), packet, false);
        for (const Socket& s : sockets) {
          if (s.family == AF_INET6) {
            group6.sin6_scope_id = static_cast<uint32_t>(s.if_index);
            // Best effort: a link without IPv6 routes or addresses refuses, and IPv4 carries on.
            (void)sendto(s.fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&group6),
                         sizeof group6);
            continue;
          }
          if (sendto(s.fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&group),
                     sizeof group) < 0 &&
              result.problems.size() < kMaxProblems) {
            result.problems.push_back("send on " + s.interface + ": " + std::strerror(errno));
          }
        }
      }
      next_round = now_ms() + kRoundMs;
    }
    std::vector<pollfd> fds;
    for (const Socket& s : sockets) {
      fds.push_back({s.fd, POLLIN, 0});
    }
    const int64_t wait = std::max<int64_t>(0, std::min(next_round, deadline) - now_ms());
    const int n = poll(fds.data(), fds.size(), static_cast<int>(wait));
    if (n <= 0) {
      continue;
    }
    for (const pollfd& p : fds) {
      if (!(p.revents & POLLIN)) {
        continue;
      }
      for (;;) {
        sockaddr_storage from{};
        socklen_t from_len = sizeof from;
        const ssize_t got = recvfrom(p.fd, buf.data(), buf.size(), 0,
                                     reinterpret_cast<sockaddr*>(&from), &from_len);
        if (got < 0) {
          break;  // EAGAIN: drained
        }
        ++result.packets;
        char addr[INET6_ADDRSTRLEN] = {};
        if (from.ss_family == AF_INET6) {
          inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr, addr,
                    sizeof addr);
        } else {
          inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, addr,
                    sizeof addr);
        }
        auto msg = dns::parse(std::span<const uint8_t>(buf.data(), static_cast<size_t>(got)));
        if (!msg) {
          ++malformed;
          continue;
        }
        if (!msg->problems.empty()) {
          ++malformed;
        }
        browser.ingest(*msg, addr);
      }
    }
  }
  if (malformed > 0) {
    result.problems.push_back(std::to_string(malformed) +
                              " mDNS answers were malformed (their readable records were kept)");
  }
  result.hosts = browser.hosts();
  return result;
}

}  // namespace schoolnet::discovery
