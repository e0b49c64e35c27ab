// A token bucket per key (an agent credential): `rate` uploads per second with a burst of one
// second's worth. Plain state over a time the caller passes in, so tests step it by hand.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace schoolnet::central::ingest {

class RateLimiter {
 public:
  // rate <= 0 turns the limiter off (every call is allowed).
  explicit RateLimiter(double rate_per_s)
      : rate_(rate_per_s), burst_(rate_per_s < 1 ? 1 : rate_per_s) {}

  // Takes one token for `key` at monotonic time now_ms. Returns 0 when allowed, otherwise the
  // milliseconds until a token will be available (nothing is taken).
  int64_t acquire(const std::string& key, int64_t now_ms);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace schoolnet::central::ingest
