// A central service without sockets: a store in a temp dir, credentials, the ingest and API
// handlers behind the router, and a manual clock. Tests drive it with http::Request values.
#pragma once

#include <memory>
#include <string>

#include "central/api/handler.hpp"
#include "central/app/router.hpp"
#include "central/auth/credentials.hpp"
#include "central/ingest/handler.hpp"
#include "central/store/sqlite_store.hpp"
#include "core/clock.hpp"
#include "core/gzip.hpp"
#include "support/temp_dir.hpp"

namespace schoolnet::central::testing {

namespace v1 = ::schoolnet::v1;

inline constexpr const char* kSchool = "100001";
inline constexpr const char* kOtherSchool = "100002";
inline constexpr const char* kAgent = "sim-100001-box";
inline constexpr const char* kAgentToken = "agent-token-100001";
inline constexpr const char* kBoundToken = "agent-token-bound";
inline constexpr const char* kOtherAgentToken = "agent-token-100002";
inline constexpr const char* kAllToken = "api-token-all";
inline constexpr const char* kSchoolToken = "api-token-100001";

inline v1::Batch make_batch(uint64_t seq, const std::string& school = kSchool,
                            const std::string& agent = kAgent) {
  v1::Batch b;
  b.set_agent_id(agent);
  b.set_school_id(school);
  b.set_seq(seq);
  b.set_created_at_ms(1'700'000'000'000);
  b.set_agent_version("0.1.0-test");
  return b;
}

inline v1::Record* add_sample(v1::Batch& b, const std::string& name, int64_t observed_ms, bool ok,
                              double latency_ms = 12.5) {
  v1::Record* r = b.add_records();
  r->set_observed_at_ms(observed_ms);
  r->set_clock_synced(true);
  v1::ProbeSample* s = r->mutable_probe_sample();
  s->set_name(name);
  s->set_kind(v1::PROBE_KIND_HTTPS);
  s->set_target("https://example.test/");
  s->set_ok(ok);
  s->set_latency_ms(latency_ms);
  if (!ok) {
    s->set_error_class("connect_timeout");
    s->set_error_detail("no answer in 5 s");
  }
  return r;
}

inline v1::Record* add_device(v1::Batch& b, const std::string& device_id, int64_t observed_ms,
                              const std::string& sys_name = "core-switch") {
  v1::Record* r = b.add_records();
  r->set_observed_at_ms(observed_ms);
  v1::DeviceSnapshot* d = r->mutable_device_snapshot();
  d->set_device_id(device_id);
  d->add_addresses("10.0.0.2");
  d->set_mac("aa:bb:cc:00:00:02");
  d->set_sys_name(sys_name);
  d->set_device_class(v1::DEVICE_CLASS_SWITCH);
  d->set_first_seen_ms(observed_ms);
  d->set_last_seen_ms(observed_ms);
  return r;
}

inline std::string serialized(const v1::Batch& b) {
  std::string out;
  b.SerializeToString(&out);
  return out;
}

struct HarnessOptions {
  ingest::IngestOptions ingest;
  std::function<bool()> fail_write;
};

class Harness {
 public:
  explicit Harness(HarnessOptions options = {}) : options_(std::move(options)) {
    credentials_.add_agent(kAgentToken, AgentCredential{"agent[0]", kSchool, ""});
    credentials_.add_agent(kBoundToken, AgentCredential{"agent[1]", kSchool, kAgent});
    credentials_.add_agent(kOtherAgentToken, AgentCredential{"agent[2]", kOtherSchool, ""});
    ApiCredential all;
    all.label = "api_token[0]";
    all.all_schools = true;
    credentials_.add_api(kAllToken, all);
    ApiCredential one;
    one.label = "api_token[1]";
    one.schools = {kSchool};
    credentials_.add_api(kSchoolToken, one);
    open();
  }

  // Closes and reopens the database file, as a restart would.
  void reopen() {
    router_.reset();
    api_.reset();
    ingest_.reset();
    store_.reset();
    open();
  }

  http::Request upload(const v1::Batch& b, const std::string& token = kAgentToken,
                       bool gzip = true) const {
    return upload_bytes(gzip ? gzip_compress(serialized(b)) : serialized(b), token, gzip);
  }

  static http::Request upload_bytes(std::string body, const std::string& token = kAgentToken,
                                    bool gzip = true) {
    http::Request r;
    r.method = "POST";
    r.target = "/v1/batches";
    r.remote = "127.0.0.1:1";
    if (!token.empty()) {
      r.set_header("authorization", "Bearer " + token);
    }
    r.set_header("content-type", "application/x-protobuf");
    if (gzip) {
      r.set_header("content-encoding", "gzip");
    }
    r.set_header("content-length", std::to_string(body.size()));
    r.body = std::move(body);
    return r;
  }

  http::Response post(const v1::Batch& b, const std::string& token = kAgentToken,
                      bool gzip = true) {
    return send(upload(b, token, gzip));
  }

  // As the server does: precheck on the headers, then the whole request.
  http::Response send(const http::Request& r) {
    if (auto refused = router_->precheck(r)) {
      return *refused;
    }
    return router_->handle(r);
  }

  http::Response get(const std::string& target, const std::string& token = kAllToken) {
    http::Request r;
    r.method = "GET";
    r.target = target;
    if (!token.empty()) {
      r.set_header("authorization", "Bearer " + token);
    }
    return send(r);
  }

  http::Response del(const std::string& target, const std::string& token = kAllToken) {
    http::Request r;
    r.method = "DELETE";
    r.target = target;
    r.set_header("authorization", "Bearer " + token);
    return send(r);
  }

  ManualClock& clock() { return clock_; }
  SqliteStore& store() { return *store_; }
  ingest::IngestCounters& counters() { return counters_; }
  const schoolnet::testing::TempDir& dir() const { return dir_; }

 private:
  void open() {
    SqliteStoreOptions so;
    so.path = dir_.file("central.db");
    so.fail_write = options_.fail_write;
    auto s = SqliteStore::open(so);
    if (!s) {
      throw std::runtime_error(s.error().to_string());
    }
    store_ = std::move(s.value());
    ingest_ = std::make_unique<ingest::IngestHandler>(options_.ingest, credentials_, *store_,
                                                      clock_, counters_);
    api_ = std::make_unique<api::ApiHandler>(credentials_, *store_, counters_);
    router_ = std::make_unique<Router>(*ingest_, *api_, counters_);
  }

  HarnessOptions options_;
  schoolnet::testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  Credentials credentials_;
  ingest::IngestCounters counters_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ingest::IngestHandler> ingest_;
  std::unique_ptr<api::ApiHandler> api_;
  std::unique_ptr<Router> router_;
};

inline v1::UploadAck parse_ack(const http::Response& r) {
  v1::UploadAck ack;
  ack.ParseFromString(r.body);
  return ack;
}

}  // namespace schoolnet::central::testing
