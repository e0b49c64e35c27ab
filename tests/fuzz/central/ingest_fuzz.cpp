// Fuzz target for everything central does with bytes from the network: the ingest decode path
// (gzip inflation with limits, the wire record count, protobuf parse, validation), the upload
// handler with an in-memory store behind it, and Beast's request parser feeding the router.
// Every input goes through every path; none may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>

#include "central/api/handler.hpp"
#include "central/app/app.hpp"
#include "central/app/router.hpp"
#include "central/auth/credentials.hpp"
#include "central/ingest/decode.hpp"
#include "central/ingest/handler.hpp"
#include "central/server/convert.hpp"
#include "central/store/sqlite_store.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"

namespace {

using namespace schoolnet::central;

constexpr const char* kAgentToken = "fuzz-agent-token";
constexpr const char* kApiToken = "fuzz-api-token";

struct State {
  schoolnet::ManualClock clock;
  Credentials credentials;
  ingest::IngestCounters counters;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<ingest::IngestHandler> ingest;
  std::unique_ptr<api::ApiHandler> api;
  std::unique_ptr<Router> router;

  State() {
    schoolnet::log::set_sink([](std::string_view) {});
    install_protobuf_log_handler();  // protobuf's parse complaints go to the silenced log
    credentials.add_agent(kAgentToken, AgentCredential{"agent[0]", "100001", ""});
    ApiCredential all;
    all.label = "api_token[0]";
    all.all_schools = true;
    credentials.add_api(kApiToken, all);
    auto s = SqliteStore::open(SqliteStoreOptions{":memory:", 1000, {}});
    if (!s) {
      __builtin_trap();
    }
    store = std::move(s.value());
    ingest::IngestOptions o;
    o.max_body = 1 << 20;
    o.max_decompressed = 1 << 20;
    o.max_records = 1000;
    o.agent_rate = 0;
    ingest = std::make_unique<ingest::IngestHandler>(o, credentials, *store, clock, counters);
    api = std::make_unique<api::ApiHandler>(credentials, *store, counters);
    router = std::make_unique<Router>(*ingest, *api, counters);
  }
};

State& state() {
  static State s;
  return s;
}

void serve(State& s, const http::Request& r) {
  if (auto refused = s.router->precheck(r)) {
    return;
  }
  (void)s.router->handle(r);
}

void through_beast_parser(State& s, std::string_view bytes) {
  namespace bhttp = boost::beast::http;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  (void)used;
  if (!ec && !parser.is_done()) {
    parser.put_eof(ec);
  }
  if (ec || !parser.is_done()) {
    return;
  }
  http::Request r = server::to_request(parser.get().base());
  r.body = parser.get().body();
  serve(s, r);
  // The API routes read back whatever the uploads stored.
  for (const char* target :
       {"/api/v1/schools", "/api/v1/schools/100001/devices", "/api/v1/schools/100001/probes",
        "/api/v1/schools/100001/agents", "/metrics"}) {
    http::Request get;
    get.method = "GET";
    get.target = target;
    get.set_header("authorization", std::string("Bearer ") + kApiToken);
    serve(s, get);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  State& s = state();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const ingest::DecodeLimits limits{1 << 20, 1000};
  (void)ingest::decode_batch(bytes, ingest::Encoding::gzip, limits);
  (void)ingest::decode_batch(bytes, ingest::Encoding::identity, limits);

  for (const char* encoding : {"gzip", "identity"}) {
    http::Request r;
    r.method = "POST";
    r.target = "/v1/batches";
    r.set_header("authorization", std::string("Bearer ") + kAgentToken);
    r.set_header("content-type", "application/x-protobuf");
    r.set_header("content-encoding", encoding);
    r.body = std::string(bytes);
    serve(s, r);
  }
  through_beast_parser(s, bytes);
  s.clock.advance_ms(1000);
  return 0;
}
