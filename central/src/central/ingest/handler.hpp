// POST /v1/batches: authenticate the agent credential, apply limits, decode, authorise the
// batch against the credential, and apply it to the store exactly once. Plain functions over
// http::Request/Response; the server calls precheck() when the headers arrive (so an upload
// that will be refused is refused before its body is read) and handle() with the full request.
#pragma once

#include <optional>
#include <string>

#include "central/auth/credentials.hpp"
#include "central/http/message.hpp"
#include "central/ingest/counters.hpp"
#include "central/ingest/decode.hpp"
#include "central/ingest/rate_limiter.hpp"
#include "central/store/store.hpp"
#include "core/clock.hpp"

namespace schoolnet::central::ingest {

struct IngestOptions {
  int64_t max_body = 4 << 20;
  int64_t max_decompressed = 32 << 20;
  int64_t max_records = 20000;
  int64_t agent_rate = 20;       // uploads per second per credential; 0 = unlimited
  std::string maintenance_file;  // empty: none
  int store_retry_after_s = 5;   // Retry-After when the store fails

  static IngestOptions from_config(const Config& config);
};

// Seconds for Retry-After while the maintenance file exists (its content, else 30), or nullopt
// when there is no maintenance file.
std::optional<int> maintenance_retry_after(const std::string& path);

class IngestHandler {
 public:
  IngestHandler(IngestOptions options, const Credentials& credentials, Store& store,
                const Clock& clock, IngestCounters& counters);

  // Checks that need only the request line and headers. A returned response refuses the upload.
  std::optional<http::Response> precheck(const http::Request& head);
  http::Response handle(const http::Request& request);

 private:
  std::optional<http::Response> header_checks(const http::Request& request,
                                              const AgentCredential*& credential);
  http::Response refuse(const http::Request& request, const AgentCredential* credential, int status,
                        std::string_view reason);
  http::Response finish(http::Response response);

  IngestOptions options_;
  const Credentials& credentials_;
  Store& store_;
  const Clock& clock_;
  IngestCounters& counters_;
  RateLimiter limiter_;
};

}  // namespace schoolnet::central::ingest
