// Fuzz target: whatever central (or something pretending to be central) answers. The first
// two bytes pick the HTTP status and the Retry-After; the rest is the body, which a 200 must
// carry as an UploadAck. Every answer must map to exactly one outcome, without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "uplink/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace schoolnet::uplink;
  if (size < 2) {
    return 0;
  }
  static const int kStatuses[] = {0,   200, 200, 200, 301, 400, 401,
                                  403, 404, 408, 413, 429, 500, 503};
  Response r;
  r.status = kStatuses[data[0] % (sizeof kStatuses / sizeof kStatuses[0])];
  r.retry_after_ms = data[1] == 0xFF ? -1 : static_cast<int64_t>(data[1]) * 1000;
  r.body.assign(reinterpret_cast<const char*>(data + 2), size - 2);
  if (r.status == 0) {
    r.error_class = "network";
  }
  const Decision d = decide(r, 42);
  if (d.outcome == Outcome::delivered && r.status != 200) {
    std::abort();  // only an ack may count as delivered
  }
  schoolnet::FixedRandom random(static_cast<double>(data[1]) / 256.0);
  Backoff b(1000, 300000);
  if (b.next_delay_ms(random, d.server_delay_ms) > 300000) {
    std::abort();
  }
  return 0;
}
