#include "probes/probe.hpp"

#include <chrono>

#include "core/log.hpp"
#include "probes/resolver.hpp"

namespace schoolnet::probes {

namespace {

double ms_between(std::chrono::steady_clock::time_point a,
                  std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::vector<std::string> resolvers_for(const config::ProbeConfig& p, const ProbeEnv& env) {
  if (!p.resolver.empty()) {
    return {p.resolver};
  }
  return env.resolvers;
}

void fail(v1::ProbeSample& s, std::string cls, std::string detail) {
  s.set_ok(false);
  s.set_error_class(std::move(cls));
  s.set_error_detail(std::move(detail));
}

awaitable<void> run_dns(const config::ProbeConfig& p, const ProbeEnv& env, v1::ProbeSample& s) {
  Resolution r = co_await resolve_a(p.host, resolvers_for(p, env), p.timeout_ms);
  s.set_resolver(r.resolver);
  s.mutable_timings()->set_dns_ms(r.ms);
  s.mutable_timings()->set_total_ms(r.ms);
  for (const auto& a : r.addresses) {
    s.add_resolved_addresses(a);
  }
  if (!r.ok()) {
    fail(s, r.error_class, r.error_detail);
    co_return;
  }
  s.set_ok(true);
  s.set_latency_ms(r.ms);
}

}  // namespace

v1::ProbeKind to_proto(config::ProbeKind k) {
  switch (k) {
    case config::ProbeKind::dns:
      return v1::PROBE_KIND_DNS;
    case config::ProbeKind::tcp:
      return v1::PROBE_KIND_TCP;
    case config::ProbeKind::tls:
      return v1::PROBE_KIND_TLS;
    case config::ProbeKind::https:
      return v1::PROBE_KIND_HTTPS;
  }
  return v1::PROBE_KIND_UNSPECIFIED;
}

std::string connect_error_class(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) {
    return "connect_refused";
  }
  if (ec == asio::error::host_unreachable) {
    return "host_unreachable";
  }
  if (ec == asio::error::network_unreachable) {
    return "network_unreachable";
  }
  if (ec == asio::error::timed_out) {
    return "connect_timeout";
  }
  return "connect_error";
}

awaitable<std::optional<Connected>> resolve_and_connect(const config::ProbeConfig& p,
                                                        const ProbeEnv& env, v1::ProbeSample& s) {
  const auto start = std::chrono::steady_clock::now();
  Resolution r = co_await resolve_a(p.host, resolvers_for(p, env), p.timeout_ms);
  s.set_resolver(r.resolver);
  s.mutable_timings()->set_dns_ms(r.ms);
  for (const auto& a : r.addresses) {
    s.add_resolved_addresses(a);
  }
  if (!r.ok()) {
    fail(s, r.error_class, r.error_detail);
    co_return std::nullopt;
  }
  auto ex = co_await asio::this_coro::executor;
  const int64_t left =
      p.timeout_ms - static_cast<int64_t>(ms_between(start, std::chrono::steady_clock::now()));
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(r.addresses.front(), ec);
  Connected c{asio::ip::tcp::socket(ex), r.addresses.front(), r.ms, 0};
  asio::steady_timer timer(ex);
  timer.expires_after(std::chrono::milliseconds(std::max<int64_t>(left, 1)));
  const auto t0 = std::chrono::steady_clock::now();
  boost::system::error_code connect_ec;
  boost::system::error_code timer_ec;
  auto which = co_await (
      c.socket.async_connect({addr, p.port}, asio::redirect_error(use_awaitable, connect_ec)) ||
      timer.async_wait(asio::redirect_error(use_awaitable, timer_ec)));
  c.connect_ms = ms_between(t0, std::chrono::steady_clock::now());
  s.mutable_timings()->set_connect_ms(c.connect_ms);
  const std::string where = c.address + ":" + std::to_string(p.port);
  if (which.index() == 1) {
    fail(s, "connect_timeout", "no answer from " + where + " within the probe timeout");
    co_return std::nullopt;
  }
  if (connect_ec) {
    fail(s, connect_error_class(connect_ec), where + ": " + connect_ec.message());
    co_return std::nullopt;
  }
  co_return std::optional<Connected>(std::move(c));
}

awaitable<v1::ProbeSample> run_probe(const config::ProbeConfig& p, const ProbeEnv& env) {
  v1::ProbeSample s;
  s.set_name(p.name);
  s.set_kind(to_proto(p.kind));
  s.set_target(p.target);
  try {
    switch (p.kind) {
      case config::ProbeKind::dns:
        co_await run_dns(p, env, s);
        break;
      case config::ProbeKind::tcp: {
        auto c = co_await resolve_and_connect(p, env, s);
        if (c) {
          s.set_ok(true);
          s.set_latency_ms(c->connect_ms);
          s.mutable_timings()->set_total_ms(c->dns_ms + c->connect_ms);
        }
        break;
      }
      case config::ProbeKind::tls:
        co_await run_tls(p, env, s);
        break;
      case config::ProbeKind::https:
        co_await run_https(p, env, s);
        break;
    }
  } catch (const std::exception& e) {
    // A bug, not a network condition: keep the daemon alive and say so.
    fail(s, "internal", e.what());
    log::error("probe failed unexpectedly", {{"probe", p.name}, {"error", e.what()}});
  }
  if (!s.ok() && s.error_class() == "tls_not_yet_valid" && env.clock &&
      !env.clock->synchronised()) {
    s.set_error_class("clock_unsynchronised");
    s.set_error_detail(s.error_detail() +
                       " (the box's clock is not synchronised: the fault is probably ours)");
  }
  co_return s;
}

}  // namespace schoolnet::probes
