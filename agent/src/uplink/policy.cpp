#include "uplink/policy.hpp"

#include <algorithm>

#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::uplink {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::delivered:
      return "delivered";
    case Outcome::retry:
      return "retry";
    case Outcome::rejected:
      return "rejected";
    case Outcome::split:
      return "split";
    case Outcome::credentials:
      return "credentials";
    case Outcome::endpoint:
      return "endpoint";
    case Outcome::rebase:
      return "rebase";
  }
  return "?";
}

Decision decide(const Response& r, uint64_t seq) {
  Decision d;
  d.server_delay_ms = r.retry_after_ms;
  if (r.status == 0) {
    d.outcome = Outcome::retry;
    d.reason = r.error_class.empty() ? "network" : r.error_class;
    if (!r.error_detail.empty()) {
      d.reason += ": " + r.error_detail;
    }
    return d;
  }
  const std::string status = "HTTP " + std::to_string(r.status);
  if (r.status == 200) {
    v1::UploadAck ack;
    if (!ack.ParseFromString(r.body)) {
      d.outcome = Outcome::retry;
      d.reason = "central answered 200 without a readable ack";
      return d;
    }
    if (ack.acked_seq() != seq) {
      d.outcome = Outcome::retry;
      d.reason = "central acknowledged seq " + std::to_string(ack.acked_seq()) + ", not " +
                 std::to_string(seq);
      return d;
    }
    if (ack.duplicate() && ack.last_seq() > seq) {
      // Central already holds this seq from before, and later ones too: batches go strictly in
      // seq order, so our counter must have gone back. Dropping these records as duplicates
      // would lose them.
      d.outcome = Outcome::rebase;
      d.next_seq = ack.last_seq() + 1;
      d.reason = "central already has seq " + std::to_string(seq) + " (its last is " +
                 std::to_string(ack.last_seq()) + "): this agent's seq went back";
      return d;
    }
    d.outcome = Outcome::delivered;
    return d;
  }
  auto with_body = [&](std::string s) {
    if (!r.body.empty() && r.body.size() < 300) {
      s += ": " + r.body;
    }
    return s;
  };
  if (r.status == 408 || r.status == 429 || r.status >= 500) {
    d.outcome = Outcome::retry;
    d.reason = with_body(status);
  } else if (r.status == 401 || r.status == 403) {
    d.outcome = Outcome::credentials;
    d.reason = with_body(status + " (check central.token and that central enrolled this agent)");
  } else if (r.status == 413) {
    d.outcome = Outcome::split;
    d.reason = status;
  } else if (r.status == 404 || r.status == 405 || (r.status >= 300 && r.status < 400)) {
    // A wrong URL answers every batch this way; quarantining would throw the whole backlog
    // away for a configuration mistake, so keep everything and say so.
    d.outcome = Outcome::endpoint;
    d.reason = with_body(status + " (check central.url)");
  } else if (r.status >= 400 && r.status < 500) {
    d.outcome = Outcome::rejected;
    d.reason = with_body(status);
  } else {
    d.outcome = Outcome::retry;  // 1xx/2xx other than 200: not an ack
    d.reason = status + " is not an acknowledgement";
  }
  return d;
}

bool may_have_reached_central(const Response& r) {
  if (r.status == 0) {
    return r.error_class.empty() || r.error_class == "timeout" || r.error_class == "network" ||
           r.error_class == "internal";
  }
  return r.status < 400 || r.status >= 500;
}

int64_t Backoff::next_delay_ms(Random& random, int64_t server_delay_ms) {
  const int shift = std::min(failures_, 30);
  const int64_t ceiling = std::min<int64_t>(cap_ms_, base_ms_ << shift);
  ++failures_;
  int64_t delay = random.below(std::max<int64_t>(ceiling, 1));
  if (server_delay_ms >= 0) {
    // Honour Retry-After, but never wait past the cap: a broken server must not park the queue.
    delay = std::max(delay, std::min(server_delay_ms, cap_ms_));
  }
  return delay;
}

}  // namespace schoolnet::uplink
