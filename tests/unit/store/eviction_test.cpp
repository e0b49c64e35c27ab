#include <gtest/gtest.h>

#include "store/agent_store.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

namespace schoolnet::store {
namespace {

using testing::TempDir;

// Drains everything through sealing and acknowledging, handing each record to `visit` in the
// order it would reach central.
template <typename Visit>
void drain_all(AgentStore& s, Visit visit) {
  BatchHeader h;
  for (;;) {
    auto b = s.next_batch(h, BatchLimits{100000, 1 << 30});
    if (!b.ok() || !b->has_value()) {
      break;
    }
    v1::Batch parsed;
    parsed.ParseFromString((*b)->bytes);
    for (const auto& r : parsed.records()) {
      visit(r);
    }
    (void)s.acknowledge((*b)->seq);
  }
}

int64_t count_kind(AgentStore& s, const char* kind) {
  int64_t n = 0;
  drain_all(s, [&](const v1::Record& r) { n += kind_name(r) == kind; });
  return n;
}

TEST(Eviction, DropsRawSamplesFirstAndCountsThem) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok());
  std::vector<v1::Record> recs;
  for (int i = 0; i < 500; ++i) {
    recs.push_back(testing::sample(clock, "p"));
  }
  recs.push_back(testing::outage(clock, clock.wall_ms()));
  recs.push_back(testing::change(clock, "mac:aa"));
  recs.push_back(testing::summary(clock, "p", clock.wall_ms()));
  ASSERT_TRUE(s->append(recs).ok());
  const auto before = s->accounting()->pending_bytes;
  auto r = s->enforce_bounds(static_cast<int64_t>(before / 2), 0);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto a = s->accounting();
  EXPECT_LE(a->pending_bytes, before / 2);
  EXPECT_GT(a->evicted["probe_sample/cap"], 0u);
  EXPECT_TRUE(a->balanced());
  EXPECT_EQ(count_kind(*s, "outage"), 1);
  EXPECT_EQ(a->evicted.count("outage/cap"), 0u);
}

TEST(Eviction, OutagesAndChangesOutliveSummariesAndSnapshots) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  std::vector<v1::Record> recs;
  for (int i = 0; i < 300; ++i) {
    recs.push_back(testing::summary(clock, "p", clock.wall_ms() + i * 60'000));
    recs.push_back(testing::snapshot(clock, "dev" + std::to_string(i)));
  }
  for (int i = 0; i < 10; ++i) {
    recs.push_back(testing::outage(clock, clock.wall_ms() + i));
    recs.push_back(testing::change(clock, "dev" + std::to_string(i)));
  }
  ASSERT_TRUE(s->append(recs).ok());
  // A cap that only the critical records fit under.
  auto r = s->enforce_bounds(2000, 0);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto a = s->accounting();
  EXPECT_TRUE(a->balanced());
  EXPECT_GT(a->evicted["device_snapshot/cap"], 0u);
  EXPECT_EQ(a->evicted.count("outage/cap"), 0u);
  EXPECT_EQ(a->evicted.count("device_change/cap"), 0u);
  EXPECT_EQ(count_kind(*s, "outage"), 10);
}

// Below the free-disk floor that nothing the outbox can do will restore (another file filled
// the disk), eviction goes by priority but stops short of the critical class, and counts
// everything under reason "disk". The freed pages go back to the file system.
TEST(Eviction, AtTheDiskFloorKeepsOutagesChangesAndHealth) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  std::vector<v1::Record> recs;
  for (int i = 0; i < 2000; ++i) {
    recs.push_back(testing::sample(clock, "p"));
  }
  for (int i = 0; i < 100; ++i) {
    recs.push_back(testing::summary(clock, "p", clock.wall_ms() + i * 60'000));
    recs.push_back(testing::snapshot(clock, "dev" + std::to_string(i)));
  }
  for (int i = 0; i < 5; ++i) {
    recs.push_back(testing::outage(clock, clock.wall_ms() + i));
    recs.push_back(testing::change(clock, "dev" + std::to_string(i)));
  }
  ASSERT_TRUE(s->append(recs).ok());
  const uint64_t file_before = s->file_bytes();
  auto r = s->enforce_bounds(64 << 20, /*min_free_bytes=*/INT64_MAX / 4);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto a = s->accounting();
  EXPECT_TRUE(a->balanced());
  EXPECT_EQ(a->evicted["probe_sample/disk"], 2000u);
  EXPECT_GT(a->evicted["device_snapshot/disk"], 0u);
  for (const auto& [key, n] : a->evicted) {
    EXPECT_TRUE(key.find("/disk") != std::string::npos || key == "probe_summary/folded") << key;
    EXPECT_EQ(key.rfind("outage", 0), std::string::npos) << key;
    EXPECT_EQ(key.rfind("device_change", 0), std::string::npos) << key;
  }
  EXPECT_EQ(a->pending_records, 10u);
  EXPECT_LT(s->file_bytes(), file_before / 2) << "the freed pages stayed in the file";
  EXPECT_EQ(count_kind(*s, "outage"), 5);
}

TEST(Eviction, FoldsMinuteSummariesIntoHoursBeforeEvictingThem) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  std::vector<v1::Record> recs;
  const int64_t t0 = 1'700'000'000'000 - (1'700'000'000'000 % 3'600'000);
  // Six hours of per-minute summaries of one probe.
  for (int i = 0; i < 360; ++i) {
    recs.push_back(testing::summary(clock, "m365", t0 + i * 60'000, 2, i % 60 == 0 ? 1 : 0));
  }
  ASSERT_TRUE(s->append(recs).ok());
  const auto before = s->accounting()->pending_bytes;
  auto r = s->enforce_bounds(static_cast<int64_t>(before / 4), 0);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GT(r->folded, 0u);
  EXPECT_GT(r->summaries_added, 0u);
  auto a = s->accounting();
  EXPECT_TRUE(a->balanced());
  EXPECT_GT(a->evicted["probe_summary/folded"], 0u);
  // Coverage kept: every hour is still there, and the attempt counts add up.
  uint64_t attempts = 0;
  uint64_t failures = 0;
  int hourly = 0;
  drain_all(*s, [&](const v1::Record& rec) {
    attempts += rec.probe_summary().count();
    failures += rec.probe_summary().failures();
    hourly += rec.probe_summary().window_ms() == 3'600'000;
  });
  EXPECT_EQ(attempts, 720u);
  EXPECT_EQ(failures, 6u);
  EXPECT_GT(hourly, 0);
}

// A week-long outage of a school with many targets: the oldest summaries are already hourly
// (more of them than one folding chunk), and newer minute summaries follow. Folding must walk
// past the hourly ones and keep going, and the hourly summaries keep their place in the queue.
TEST(Eviction, FoldingWalksPastHourlySummariesAndKeepsObservationOrder) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  const int64_t t0 = 1'700'000'000'000 - (1'700'000'000'000 % 3'600'000);
  std::vector<v1::Record> recs;
  for (int i = 0; i < 2'500; ++i) {  // 50 targets x 50 hours, already folded
    auto r = testing::summary(clock, "t" + std::to_string(i % 50), t0 + (i / 50) * 3'600'000);
    r.mutable_probe_summary()->set_window_ms(3'600'000);
    r.mutable_probe_summary()->set_folded(true);
    recs.push_back(std::move(r));
  }
  const int64_t t1 = t0 + 50 * 3'600'000;
  for (int i = 0; i < 600; ++i) {  // then ten hours of one target per minute
    recs.push_back(testing::summary(clock, "m365", t1 + i * 60'000, 2, 0));
  }
  ASSERT_TRUE(s->append(recs).ok());
  const auto before = s->accounting()->pending_bytes;
  auto r = s->enforce_bounds(static_cast<int64_t>(before) * 9 / 10, 0);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GT(r->folded, 500u) << "folding stopped at the hourly summaries";
  auto a = s->accounting();
  EXPECT_TRUE(a->balanced());
  EXPECT_EQ(a->evicted.count("probe_summary/cap"), 0u) << "coverage lost while folding could help";
  uint64_t last_id = 0;
  int64_t last_start = 0;
  uint64_t m365_attempts = 0;
  drain_all(*s, [&](const v1::Record& rec) {
    EXPECT_GT(rec.record_id(), last_id);
    EXPECT_GE(rec.probe_summary().window_start_ms(), last_start) << "drained out of order";
    last_id = rec.record_id();
    last_start = rec.probe_summary().window_start_ms();
    if (rec.probe_summary().name() == "m365") {
      m365_attempts += rec.probe_summary().count();
    }
  });
  EXPECT_EQ(m365_attempts, 1'200u);
}

TEST(Eviction, NeverTouchesTheSealedInFlightBatch) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  std::vector<v1::Record> recs;
  for (int i = 0; i < 50; ++i) {
    recs.push_back(testing::sample(clock));
  }
  ASSERT_TRUE(s->append(recs).ok());
  auto b = s->next_batch(BatchHeader{}, BatchLimits{10, 1 << 20});
  ASSERT_TRUE(b.ok() && b->has_value());
  ASSERT_TRUE(s->enforce_bounds(0, 0).ok());
  auto a = s->accounting();
  EXPECT_EQ(a->pending_records, 10u);
  ASSERT_TRUE(s->acknowledge((*b)->seq).ok());
  EXPECT_EQ(s->accounting()->acked, 10u);
  EXPECT_TRUE(s->accounting()->balanced());
}

}  // namespace
}  // namespace schoolnet::store
