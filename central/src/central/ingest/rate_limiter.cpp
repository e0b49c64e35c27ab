#include "central/ingest/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace schoolnet::central::ingest {

int64_t RateLimiter::acquire(const std::string& key, int64_t now_ms) {
  if (rate_ <= 0) {
    return 0;
  }
  std::lock_guard lock(mutex_);
  auto [it, inserted] = buckets_.try_emplace(key);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = burst_;
    b.last_ms = now_ms;
  }
  const int64_t elapsed = std::max<int64_t>(0, now_ms - b.last_ms);
  b.tokens = std::min(burst_, b.tokens + static_cast<double>(elapsed) * rate_ / 1000.0);
  b.last_ms = std::max(b.last_ms, now_ms);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  const double wait_ms = (1.0 - b.tokens) * 1000.0 / rate_;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms)));
}

}  // namespace schoolnet::central::ingest
