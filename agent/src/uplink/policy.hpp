// What to do after an upload attempt: pure decisions with no I/O, so tests drive them step by
// step. One outcome per attempt, as DESIGN.md section 4 lists the status codes.
#pragma once

#include <cstdint>
#include <string>

#include "core/random.hpp"
#include "uplink/transport.hpp"

namespace schoolnet::uplink {

enum class Outcome {
  delivered,    // 200 with an ack for this seq
  retry,        // network error, 408, 429, 5xx, or a 200 whose ack does not match: try again later
  rejected,     // 400 and other 4xx: central will never take this batch; quarantine it
  split,        // 413: send the records again in smaller batches
  credentials,  // 401/403: keep caching, retry slowly, show the problem in `status`
  endpoint,     // 404/405/3xx: central's URL is wrong; keep caching, retry slowly
  rebase,       // 200 "duplicate" for a seq below central's last one: this agent's seq counter
                // went back (a fresh store); send the records again under a higher seq
};

const char* outcome_name(Outcome o);

struct Decision {
  Outcome outcome = Outcome::retry;
  int64_t server_delay_ms = -1;  // Retry-After, when the server gave one
  std::string reason;            // for logs and status
  uint64_t next_seq = 0;         // rebase: the lowest seq central has not seen from this agent
};

// Classifies one attempt at sending batch `seq`.
Decision decide(const Response& response, uint64_t seq);

// Whether a failed attempt may nevertheless have left the batch stored at central: an answer
// that is not a refusal (5xx from a gateway, a 200 without a matching ack) or a connection that
// broke or timed out after the request may have gone out. DNS, connect, TLS and proxy failures
// and 4xx answers mean central never stored it.
bool may_have_reached_central(const Response& response);

// Exponential backoff with full jitter (delay uniform in [0, min(cap, base * 2^n))), with the
// server's Retry-After as a floor. Steps count attempts, not wall time, so a clock jump never
// stalls or rushes it.
class Backoff {
 public:
  Backoff(int64_t base_ms, int64_t cap_ms) : base_ms_(base_ms), cap_ms_(cap_ms) {}
  int64_t next_delay_ms(Random& random, int64_t server_delay_ms = -1);
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  int64_t base_ms_;
  int64_t cap_ms_;
  int failures_ = 0;
};

}  // namespace schoolnet::uplink
