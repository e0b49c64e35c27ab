#include "probes/resolver.hpp"

#include <chrono>
#include <fstream>
#include <random>

#include "config/agent_config.hpp"
#include "dns/message.hpp"

namespace schoolnet::probes {

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

uint16_t random_id() {
  static thread_local std::mt19937 gen(std::random_device{}());
  return static_cast<uint16_t>(gen());
}

struct Attempt {
  dns::Message message;
  std::string error_class;
  std::string error_detail;
};

awaitable<Attempt> query_once(const asio::ip::udp::endpoint& server, const dns::Name& name,
                              int64_t timeout_ms) {
  Attempt out;
  auto ex = co_await asio::this_coro::executor;
  asio::ip::udp::socket sock(ex, server.protocol());
  const uint16_t id = random_id();
  const auto query = dns::build_query(id, {{name, dns::kA, 1, false}}, true);
  boost::system::error_code ec;
  sock.connect(server, ec);
  if (ec) {
    out.error_class = "dns_timeout";
    out.error_detail = "cannot reach resolver: " + ec.message();
    co_return out;
  }
  co_await sock.async_send(asio::buffer(query), asio::redirect_error(use_awaitable, ec));
  std::array<uint8_t, 4096> buf{};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      out.error_class = "dns_timeout";
      out.error_detail = "no answer from " + server.address().to_string() + " within " +
                         std::to_string(timeout_ms) + " ms";
      co_return out;
    }
    asio::steady_timer timer(ex);
    timer.expires_after(std::chrono::milliseconds(left));
    boost::system::error_code rec_ec;
    boost::system::error_code timer_ec;
    auto which = co_await (
        sock.async_receive(asio::buffer(buf), asio::redirect_error(use_awaitable, rec_ec)) ||
        timer.async_wait(asio::redirect_error(use_awaitable, timer_ec)));
    if (which.index() == 1) {
      continue;  // loop sees the deadline passed
    }
    const size_t n = std::get<0>(which);
    if (rec_ec) {
      ec = rec_ec;
      // ICMP port unreachable surfaces here as connection_refused: nothing listens.
      out.error_class = "dns_timeout";
      out.error_detail = "resolver " + server.address().to_string() + ": " + ec.message();
      co_return out;
    }
    auto parsed = dns::parse(std::span<const uint8_t>(buf.data(), n));
    if (!parsed || !parsed->is_response() || parsed->id != id) {
      continue;  // not our answer (or garbage): keep waiting until the deadline
    }
    out.message = std::move(*parsed);
    co_return out;
  }
}

}  // namespace

std::vector<std::string> system_resolvers(const std::string& resolv_conf) {
  std::vector<std::string> out;
  std::ifstream in(resolv_conf);
  std::string line;
  while (std::getline(in, line) && out.size() < 3) {
    const std::string key = "nameserver";
    if (line.rfind(key, 0) != 0) {
      continue;
    }
    std::string addr = line.substr(key.size());
    const size_t b = addr.find_first_not_of(" \t");
    if (b == std::string::npos) {
      continue;
    }
    addr = addr.substr(b);
    addr = addr.substr(0, addr.find_first_of(" \t#"));
    if (!addr.empty()) {
      out.push_back(addr);
    }
  }
  return out;
}

awaitable<Resolution> resolve_a(std::string host, std::vector<std::string> servers,
                                int64_t timeout_ms) {
  Resolution res;
  const auto start = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    res.addresses.push_back(literal.to_string());
    co_return res;
  }
  if (servers.empty()) {
    res.error_class = "dns_no_resolver";
    res.error_detail = "no resolver configured (resolv.conf has no nameserver)";
    co_return res;
  }
  const dns::Name name = dns::Name::from_dotted(host);
  // Share the time between resolvers, but give each a fair slice.
  const int64_t per_server =
      std::max<int64_t>(500, timeout_ms / static_cast<int64_t>(servers.size()));
  for (const std::string& s : servers) {
    auto hp = config::split_host_port(s, 53);
    if (!hp) {
      continue;
    }
    auto addr = asio::ip::make_address(hp->first, ec);
    if (ec) {
      continue;
    }
    res.resolver = s;
    Attempt a = co_await query_once({addr, hp->second}, name, per_server);
    if (!a.error_class.empty()) {
      res.error_class = a.error_class;
      res.error_detail = a.error_detail;
      continue;
    }
    res.error_class.clear();
    res.error_detail.clear();
    switch (a.message.rcode()) {
      case dns::kNoError:
        break;
      case dns::kNxDomain:
        res.error_class = "dns_nxdomain";
        res.error_detail = host + " does not exist (NXDOMAIN from " + s + ")";
        break;
      case dns::kServFail:
        res.error_class = "dns_servfail";
        res.error_detail = s + " failed to resolve " + host + " (SERVFAIL)";
        continue;  // another resolver may do better
      case dns::kRefused:
        res.error_class = "dns_refused";
        res.error_detail = s + " refused the query";
        continue;
      default:
        res.error_class = "dns_bad_response";
        res.error_detail = s + " answered rcode " + std::to_string(a.message.rcode());
        continue;
    }
    if (!res.error_class.empty()) {
      break;
    }
    for (const auto& rr : a.message.answers) {
      if (rr.a) {
        res.addresses.push_back(dns::format_a(*rr.a));
      }
    }
    if (res.addresses.empty()) {
      res.error_class = "dns_no_answer";
      res.error_detail = s + " has no IPv4 address for " + host;
    }
    break;
  }
  res.ms = ms_since(start);
  co_return res;
}

}  // namespace schoolnet::probes
