#include "uplink/uploader.hpp"

#include <gtest/gtest.h>

#include "store/agent_store.hpp"
#include "support/faulty_outbox.hpp"
#include "support/records.hpp"
#include "support/scripted_transport.hpp"
#include "support/temp_dir.hpp"

namespace schoolnet::uplink {
namespace {

using testing::ScriptedTransport;
using testing::TempDir;

UploaderOptions options(int64_t max_records = 10) {
  UploaderOptions o;
  o.agent_id = "agent-1";
  o.school_id = "100001";
  o.agent_version = "test";
  o.limits = {max_records, 1 << 20};
  o.drain_rate_bps = 0;
  return o;
}

struct Fixture {
  TempDir dir;
  ManualClock clock;
  FixedRandom random{0.5};
  store::AgentStore store = std::move(*store::AgentStore::open(dir.file("a.db"), clock));
  ScriptedTransport central;

  void produce(int n) {
    std::vector<v1::Record> recs;
    for (int i = 0; i < n; ++i) {
      recs.push_back(testing::sample(clock));
    }
    ASSERT_TRUE(store.append(recs).ok());
  }
  store::Accounting accounting() { return *store.accounting(); }
};

// Steps until nothing is pending or `limit` steps were taken; returns the steps.
std::vector<Step> drain(Uploader& u, int limit = 1000) {
  std::vector<Step> steps;
  for (int i = 0; i < limit; ++i) {
    auto s = u.step();
    if (!s.ok()) {
      continue;
    }
    steps.push_back(*s);
    if (!s->sent) {
      break;
    }
  }
  return steps;
}

TEST(Uploader, DeliversEverythingInSeqOrderExactlyOnce) {
  Fixture f;
  f.produce(35);
  Uploader u(f.store, f.central, f.clock, f.random, options());
  auto steps = drain(u);
  ASSERT_EQ(steps.size(), 5u);  // 4 batches and one idle step
  EXPECT_EQ(f.central.seqs(), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(f.central.record_count(), 35u);
  EXPECT_EQ(f.accounting().acked, 35u);
  EXPECT_TRUE(f.accounting().balanced());
  EXPECT_EQ(steps.back().wait_ms, -1);
  EXPECT_GT(u.last_ok_ms(), 0);
}

TEST(Uploader, RetriesNetworkErrorsAndKeepsEverything) {
  Fixture f;
  f.produce(5);
  for (int i = 0; i < 4; ++i) {
    f.central.script(0, -1, "connect");
  }
  Uploader u(f.store, f.central, f.clock, f.random, options());
  for (int i = 0; i < 4; ++i) {
    auto s = u.step();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->outcome, Outcome::retry);
    EXPECT_GE(s->wait_ms, 0);
    EXPECT_EQ(f.accounting().pending_records, 5u);
  }
  EXPECT_EQ(u.consecutive_failures(), 4);
  EXPECT_NE(u.last_error().find("connect"), std::string::npos);
  drain(u);
  EXPECT_EQ(f.central.record_count(), 5u);
  EXPECT_EQ(f.accounting().acked, 5u);
}

TEST(Uploader, HonoursRetryAfterOn503) {
  Fixture f;
  f.produce(1);
  f.central.script(503, 7000);
  FixedRandom zero(0.0);
  Uploader u(f.store, f.central, f.clock, zero, options());
  auto s = u.step();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->outcome, Outcome::retry);
  EXPECT_EQ(s->wait_ms, 7000);
}

TEST(Uploader, QuarantinesABatchCentralRejectsAndMovesOn) {
  Fixture f;
  f.produce(15);
  f.central.script(400);
  Uploader u(f.store, f.central, f.clock, f.random, options());
  auto s = u.step();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->outcome, Outcome::rejected);
  EXPECT_EQ(s->wait_ms, 0);
  drain(u);
  auto a = f.accounting();
  EXPECT_EQ(a.quarantined, 10u);
  EXPECT_EQ(a.acked, 5u);
  EXPECT_TRUE(a.balanced());
  EXPECT_EQ(f.central.seqs(), (std::vector<uint64_t>{2}));
}

TEST(Uploader, SplitsABatchCentralFindsTooLarge) {
  Fixture f;
  f.produce(10);
  f.central.script(413);
  Uploader u(f.store, f.central, f.clock, f.random, options());
  auto s = u.step();
  EXPECT_EQ(s->outcome, Outcome::split);
  drain(u);
  EXPECT_EQ(f.central.record_count(), 10u);
  EXPECT_EQ(f.central.seqs(), (std::vector<uint64_t>{2, 3}));
  EXPECT_TRUE(f.accounting().balanced());
}

TEST(Uploader, KeepsCachingAndRetriesSlowlyOnCredentialProblems) {
  Fixture f;
  f.produce(3);
  f.central.script(401);
  f.central.script(403);
  Uploader u(f.store, f.central, f.clock, f.random, options());
  for (int i = 0; i < 2; ++i) {
    auto s = u.step();
    EXPECT_EQ(s->outcome, Outcome::credentials);
    EXPECT_GE(s->wait_ms, 60'000);
  }
  EXPECT_EQ(f.accounting().pending_records, 3u);
  EXPECT_EQ(f.accounting().quarantined, 0u);
  EXPECT_NE(u.last_error().find("HTTP 403"), std::string::npos);
  drain(u);
  EXPECT_EQ(f.accounting().acked, 3u);
}

TEST(Uploader, ALostAckIsResentAndCentralDeduplicates) {
  Fixture f;
  f.produce(4);
  f.central.script(0, -1, "timeout", /*store=*/true);  // stored, but the answer never came
  Uploader u(f.store, f.central, f.clock, f.random, options());
  drain(u);
  EXPECT_EQ(f.central.duplicates(), 1u);
  EXPECT_EQ(f.central.record_count(), 4u);
  EXPECT_EQ(f.accounting().acked, 4u);
}

TEST(Uploader, PacesBacklogToTheDrainRate) {
  Fixture f;
  f.produce(30);
  UploaderOptions o = options();
  o.drain_rate_bps = 8000;  // 1000 bytes per second
  Uploader u(f.store, f.central, f.clock, f.random, o);
  auto s = u.step();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->outcome, Outcome::delivered);
  EXPECT_EQ(s->wait_ms, static_cast<int64_t>(s->wire_bytes));  // bytes * 8 / 8000 s
}

TEST(Uploader, CredentialRetriesWaitSlowlyButNeverPastTheCap) {
  Fixture f;
  f.produce(1);
  f.central.script(401);
  UploaderOptions o = options();
  o.retry_cap_ms = 5000;
  Uploader u(f.store, f.central, f.clock, f.random, o);
  auto s = u.step();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->outcome, Outcome::credentials);
  EXPECT_EQ(s->wait_ms, 5000);
}

// A store that was reset (corrupt file moved aside) starts its seq at 1 again; central already
// holds seqs 1..50 from the old store and answers "duplicate". Those records were never sent:
// they must go again under seqs above central's last, not be dropped as duplicates.
TEST(Uploader, SendsAgainUnderAHigherSeqWhenCentralHadTheSeqFromAnEarlierStore) {
  Fixture f;
  f.central.pretend_stored_up_to(50);
  f.produce(15);
  Uploader u(f.store, f.central, f.clock, f.random, options());
  auto first = u.step();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->outcome, Outcome::rebase);
  drain(u);
  EXPECT_EQ(f.central.record_count(), 15u);
  EXPECT_EQ(f.central.duplicate_records(), 0u);
  const auto seqs = f.central.seqs();
  EXPECT_EQ(std::vector<uint64_t>(seqs.end() - 2, seqs.end()), (std::vector<uint64_t>{51, 52}));
  auto a = f.accounting();
  EXPECT_EQ(a.acked, 15u);
  EXPECT_TRUE(a.balanced());
}

TEST(Uploader, AnOrdinaryDuplicateAckIsADelivery) {
  Fixture f;
  f.produce(3);
  f.central.script(0, -1, "timeout", /*store=*/true);
  Uploader u(f.store, f.central, f.clock, f.random, options());
  auto lost = u.step();
  ASSERT_TRUE(lost.ok());
  auto again = u.step();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, Outcome::delivered);  // duplicate, but of the last seq: no rebase
  EXPECT_EQ(f.accounting().acked, 3u);
}

TEST(Uploader, ReportsACertificateNotYetValidOnAnUnsynchronisedClockAsAClockProblem) {
  Fixture f;
  f.produce(1);
  f.clock.set_synchronised(false);
  f.central.script(0, -1, "tls_not_yet_valid");
  Uploader u(f.store, f.central, f.clock, f.random, options());
  auto s = u.step();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->outcome, Outcome::retry);
  EXPECT_EQ(u.last_error().rfind("clock_unsynchronised", 0), 0u) << u.last_error();

  f.clock.set_synchronised(true);  // now the certificate really is not yet valid
  f.central.script(0, -1, "tls_not_yet_valid");
  ASSERT_TRUE(u.step().ok());
  EXPECT_EQ(u.last_error().rfind("tls_not_yet_valid", 0), 0u) << u.last_error();
}

TEST(Uploader, MarksABatchThatMayHaveReachedCentralAndOnlyThen) {
  Fixture f;
  f.produce(2);
  f.central.script(0, -1, "connect");
  f.central.script(0, -1, "tls_not_yet_valid");
  f.central.script(429);
  Uploader u(f.store, f.central, f.clock, f.random, options());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(u.step().ok());
  }
  auto marked = f.store.get_state("sealed_maybe_delivered");
  ASSERT_TRUE(marked.ok());
  EXPECT_FALSE(marked->has_value()) << "a batch central never saw was marked";
  f.central.script(0, -1, "timeout");
  ASSERT_TRUE(u.step().ok());
  marked = f.store.get_state("sealed_maybe_delivered");
  ASSERT_TRUE(marked.ok() && marked->has_value());
  EXPECT_EQ(**marked, "1");
}

// For N = 0..k: the Nth store operation fails. After the failure the uploader carries on;
// in the end everything produced reaches central exactly once and the counters balance.
TEST(Uploader, FaultMatrixOverStoreOperationsLosesAndDuplicatesNothing) {
  for (int n = 0; n < 12; ++n) {
    Fixture f;
    f.produce(25);
    testing::FaultyOutbox faulty(f.store, n);
    Uploader u(faulty, f.central, f.clock, f.random, options());
    drain(u, 100);
    drain(u, 100);
    EXPECT_EQ(f.central.record_count(), 25u) << "fault at operation " << n;
    EXPECT_EQ(f.central.duplicate_records(), 0u) << "fault at operation " << n;
    auto a = f.accounting();
    EXPECT_EQ(a.acked, 25u) << "fault at operation " << n;
    EXPECT_TRUE(a.balanced()) << "fault at operation " << n;
  }
}

// For N = 0..k: the Nth transport attempt fails in each way a network can fail, including a
// stored-but-unanswered batch.
TEST(Uploader, FaultMatrixOverTransportAttemptsLosesAndDuplicatesNothing) {
  const std::vector<std::tuple<int, std::string, bool>> faults = {{0, "connect", false},
                                                                  {0, "timeout", true},
                                                                  {503, "", false},
                                                                  {500, "", true},
                                                                  {429, "", false}};
  for (const auto& [code, cls, stored] : faults) {
    for (int n = 0; n < 5; ++n) {
      Fixture f;
      f.produce(40);
      Uploader u(f.store, f.central, f.clock, f.random, options());
      for (int i = 0; i < n; ++i) {  // n clean deliveries, then the fault
        auto s = u.step();
        ASSERT_TRUE(s.ok());
      }
      f.central.script(code, -1, cls, stored);
      drain(u);
      EXPECT_EQ(f.central.record_count(), 40u) << code << cls << stored << " at " << n;
      EXPECT_EQ(f.central.duplicate_records(), 0u);
      EXPECT_TRUE(f.accounting().balanced());
      EXPECT_EQ(f.accounting().acked, 40u);
    }
  }
}

}  // namespace
}  // namespace schoolnet::uplink
