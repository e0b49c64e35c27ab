// HTTPS POST of batches to central with libcurl (OpenSSL): server verified against the
// configured CA, bearer token, proxies from config or the environment (both cases), one
// connection kept alive between attempts.
#pragma once

#include <memory>
#include <string>

#include "uplink/transport.hpp"

namespace schoolnet::uplink {

struct CurlTransportOptions {
  std::string url;      // central base URL; batches go to url + "/v1/batches"
  std::string ca_file;  // empty: system trust store
  std::string token;
  std::string proxy;  // empty: environment
  int64_t timeout_ms = 30'000;
  std::string user_agent;
};

// Proxy from the environment for an https URL: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY,
// in that order; empty when none or when no_proxy/NO_PROXY covers `host`.
std::string proxy_from_environment(const std::string& host);

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(CurlTransportOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Response post_batch(const std::string& gzip_body) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace schoolnet::uplink
