// Runs one attempt of a configured probe and describes it as a ProbeSample. Probes never
// throw: every failure becomes ok=false with a short error class and a detail for people.
#pragma once

#include <string>
#include <vector>

#include "config/agent_config.hpp"
#include "core/clock.hpp"
#include "probes/asio.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::probes {

struct ProbeEnv {
  const Clock* clock = nullptr;
  asio::thread_pool* blocking = nullptr;  // runs libcurl's blocking transfers
  std::vector<std::string> resolvers;     // the system's, from resolv.conf
};

awaitable<v1::ProbeSample> run_probe(const config::ProbeConfig& probe, const ProbeEnv& env);

v1::ProbeKind to_proto(config::ProbeKind k);

// Maps a connect() failure to the error classes of ProbeSample.
std::string connect_error_class(const boost::system::error_code& ec);

// Parts shared by the kinds (resolve, then connect), exposed for the tls probe.
struct Connected {
  asio::ip::tcp::socket socket;
  std::string address;
  double dns_ms = 0;
  double connect_ms = 0;
};

// Resolves and connects within the probe's timeout, filling the sample's error fields on
// failure (and returning nullopt).
awaitable<std::optional<Connected>> resolve_and_connect(const config::ProbeConfig& probe,
                                                        const ProbeEnv& env,
                                                        v1::ProbeSample& sample);

awaitable<void> run_tls(const config::ProbeConfig& probe, const ProbeEnv& env,
                        v1::ProbeSample& sample);
awaitable<void> run_https(const config::ProbeConfig& probe, const ProbeEnv& env,
                          v1::ProbeSample& sample);

}  // namespace schoolnet::probes
