#include "uplink/policy.hpp"

#include <gtest/gtest.h>

#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::uplink {
namespace {

Response status(int code, int64_t retry_after = -1) {
  Response r;
  r.status = code;
  r.retry_after_ms = retry_after;
  return r;
}

TEST(Policy, AckForTheSentSeqIsDelivered) {
  v1::UploadAck ack;
  ack.set_acked_seq(7);
  Response r = status(200);
  ack.SerializeToString(&r.body);
  EXPECT_EQ(decide(r, 7).outcome, Outcome::delivered);
  EXPECT_EQ(decide(r, 8).outcome, Outcome::retry);
}

TEST(Policy, OkWithoutAReadableAckIsRetried) {
  Response r = status(200);
  r.body = "\xff\xff garbage";
  EXPECT_EQ(decide(r, 1).outcome, Outcome::retry);
}

TEST(Policy, MapsStatusCodesToOneOutcomeEach) {
  EXPECT_EQ(decide(status(408), 1).outcome, Outcome::retry);
  EXPECT_EQ(decide(status(429), 1).outcome, Outcome::retry);
  EXPECT_EQ(decide(status(500), 1).outcome, Outcome::retry);
  EXPECT_EQ(decide(status(503), 1).outcome, Outcome::retry);
  EXPECT_EQ(decide(status(400), 1).outcome, Outcome::rejected);
  EXPECT_EQ(decide(status(422), 1).outcome, Outcome::rejected);
  EXPECT_EQ(decide(status(401), 1).outcome, Outcome::credentials);
  EXPECT_EQ(decide(status(403), 1).outcome, Outcome::credentials);
  EXPECT_EQ(decide(status(413), 1).outcome, Outcome::split);
  EXPECT_EQ(decide(status(404), 1).outcome, Outcome::endpoint);
  EXPECT_EQ(decide(status(301), 1).outcome, Outcome::endpoint);
  Response net;
  net.error_class = "timeout";
  EXPECT_EQ(decide(net, 1).outcome, Outcome::retry);
  EXPECT_EQ(decide(net, 1).reason.rfind("timeout", 0), 0u);
}

TEST(Policy, CarriesRetryAfter) {
  EXPECT_EQ(decide(status(503, 4000), 1).server_delay_ms, 4000);
}

TEST(Backoff, GrowsExponentiallyWithFullJitterUpToTheCap) {
  FixedRandom almost_one(0.999999);
  Backoff b(1000, 300'000);
  EXPECT_EQ(b.next_delay_ms(almost_one), 999);
  EXPECT_EQ(b.next_delay_ms(almost_one), 1999);
  EXPECT_EQ(b.next_delay_ms(almost_one), 3999);
  for (int i = 0; i < 40; ++i) {
    EXPECT_LT(b.next_delay_ms(almost_one), 300'000);
  }
  FixedRandom zero(0.0);
  EXPECT_EQ(b.next_delay_ms(zero), 0);  // full jitter reaches down to zero
}

TEST(Backoff, RetryAfterIsAFloorButNeverBeyondTheCap) {
  FixedRandom zero(0.0);
  Backoff b(1000, 60'000);
  EXPECT_EQ(b.next_delay_ms(zero, 5000), 5000);
  EXPECT_EQ(b.next_delay_ms(zero, 3'600'000), 60'000);
}

TEST(Backoff, ResetStartsAgainFromTheBase) {
  FixedRandom almost_one(0.999999);
  Backoff b(1000, 300'000);
  for (int i = 0; i < 5; ++i) {
    (void)b.next_delay_ms(almost_one);
  }
  b.reset();
  EXPECT_EQ(b.next_delay_ms(almost_one), 999);
}

}  // namespace
}  // namespace schoolnet::uplink
