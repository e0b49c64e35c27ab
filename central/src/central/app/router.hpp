// Routes requests to the ingest and API handlers, and answers /healthz.
#pragma once

#include "central/api/handler.hpp"
#include "central/http/handler.hpp"
#include "central/ingest/handler.hpp"

namespace schoolnet::central {

// Requests other than uploads carry no body worth more than this.
inline constexpr uint64_t kMaxApiBody = 64 * 1024;

class Router final : public http::RequestHandler {
 public:
  Router(ingest::IngestHandler& ingest, api::ApiHandler& api, ingest::IngestCounters& counters)
      : ingest_(ingest), api_(api), counters_(counters) {}

  std::optional<http::Response> precheck(const http::Request& head) override;
  http::Response handle(const http::Request& request) override;
  void refused(const http::Request& head, int status) override;

 private:
  ingest::IngestHandler& ingest_;
  api::ApiHandler& api_;
  ingest::IngestCounters& counters_;
};

}  // namespace schoolnet::central
