// Sends the outbox to central, one batch per step, in seq order, and applies each outcome to
// the outbox. It owns no timers: step() says how long to wait before the next step, so the
// daemon schedules it on its event loop and tests drive it directly.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "store/outbox.hpp"
#include "uplink/policy.hpp"
#include "uplink/transport.hpp"

namespace schoolnet::uplink {

struct UploaderOptions {
  std::string agent_id;
  std::string school_id;
  std::string agent_version;
  store::BatchLimits limits;
  int64_t retry_base_ms = 1000;
  int64_t retry_cap_ms = 300'000;
  int64_t slow_retry_ms = 60'000;      // floor for credential and endpoint problems
  int64_t drain_rate_bps = 1'000'000;  // 0 = unlimited
};

struct Step {
  bool sent = false;  // false: nothing was pending (or the store failed)
  Outcome outcome = Outcome::retry;
  uint64_t seq = 0;
  uint64_t records = 0;
  size_t wire_bytes = 0;
  // How long to wait before the next step: 0 = at once; -1 = nothing pending, wait for new
  // records (the upload interval).
  int64_t wait_ms = -1;
  std::string reason;
};

// A batch ready to go: sealed in the outbox and compressed.
struct Prepared {
  uint64_t seq = 0;
  uint64_t records = 0;
  std::string body;  // gzip
};

class Uploader {
 public:
  Uploader(store::Outbox& outbox, Transport& transport, const Clock& clock, Random& random,
           UploaderOptions options);

  // One attempt, start to end, on the calling thread.
  Result<Step> step();

  // The same attempt in two halves, for a daemon that keeps the store on its event loop and
  // the (blocking) transport on a worker: prepare() and complete() touch only the outbox;
  // the caller posts `body` with Transport::post_batch in between. nullopt: nothing pending.
  Result<std::optional<Prepared>> prepare();
  Result<Step> complete(const Prepared& prepared, const Response& response);

  int64_t last_ok_ms() const { return last_ok_ms_; }
  const std::string& last_error() const { return last_error_; }
  int consecutive_failures() const { return backoff_.failures(); }

 private:
  store::Outbox& outbox_;
  Transport& transport_;
  const Clock& clock_;
  Random& random_;
  UploaderOptions options_;
  Backoff backoff_;
  int64_t last_ok_ms_ = 0;
  std::string last_error_;
};

}  // namespace schoolnet::uplink
