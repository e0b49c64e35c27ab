#include "central/app/router.hpp"

#include <charconv>

namespace schoolnet::central {

namespace {

constexpr std::string_view kBatches = "/v1/batches";

bool is_ingest(const http::Request& r) {
  return r.path() == kBatches;
}

http::Response method_not_allowed(std::string_view allow) {
  http::Response r = http::text_response(405, "method not allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

}  // namespace

std::optional<http::Response> Router::precheck(const http::Request& head) {
  if (is_ingest(head)) {
    if (head.method != "POST") {
      return std::nullopt;  // answered by handle()
    }
    return ingest_.precheck(head);
  }
  // Only uploads carry bodies: anything else may not make the server buffer much.
  if (head.header("transfer-encoding") != nullptr) {
    return http::text_response(411, "only /v1/batches accepts a chunked body");
  }
  if (const std::string* len = head.header("content-length")) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(len->data(), len->data() + len->size(), n);
    if (ec == std::errc() && p == len->data() + len->size() && n > kMaxApiBody) {
      return http::text_response(413, "request body too large");
    }
  }
  return std::nullopt;
}

http::Response Router::handle(const http::Request& request) {
  const std::string_view path = request.path();
  if (path == kBatches) {
    if (request.method != "POST") {
      return method_not_allowed("POST");
    }
    return ingest_.handle(request);
  }
  if (path == "/healthz") {
    if (request.method != "GET") {
      return method_not_allowed("GET");
    }
    return http::text_response(200, "ok");
  }
  if (path == "/metrics" || path.substr(0, 5) == "/api/") {
    return api_.handle(request);
  }
  return http::text_response(404, "not found");
}

void Router::refused(const http::Request& head, int status) {
  if (is_ingest(head)) {
    counters_.count_request(status);
  }
}

}  // namespace schoolnet::central
