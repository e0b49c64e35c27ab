// The read API (/api/v1/...) and /metrics. Both need an API bearer token; a token sees only its
// schools: another school answers 404 exactly as an absent one does, and lists are filtered.
#pragma once

#include "central/auth/credentials.hpp"
#include "central/http/message.hpp"
#include "central/ingest/counters.hpp"
#include "central/store/store.hpp"

namespace schoolnet::central::api {

inline constexpr size_t kDefaultEventLimit = 1000;
inline constexpr size_t kMaxEventLimit = 10000;

class ApiHandler {
 public:
  ApiHandler(const Credentials& credentials, Store& store, const ingest::IngestCounters& counters);

  // Any path under /api/ and /metrics.
  http::Response handle(const http::Request& request);

 private:
  http::Response metrics(const ApiCredential& credential);
  http::Response schools(const ApiCredential& credential);
  http::Response school(const http::Request& request, const ApiCredential& credential,
                        const std::string& school_id, const std::string& what);
  http::Response delete_school(const ApiCredential& credential, const std::string& school_id);
  http::Response agent_batches(const http::Request& request, const ApiCredential& credential,
                               const std::string& school_id, const std::string& agent_id);

  const Credentials& credentials_;
  Store& store_;
  const ingest::IngestCounters& counters_;
};

}  // namespace schoolnet::central::api
