#include <fstream>
#include <optional>

#include <gtest/gtest.h>

#include "store/agent_store.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

namespace schoolnet::store {
namespace {

using testing::TempDir;

BatchHeader header() {
  BatchHeader h;
  h.agent_id = "agent-1";
  h.school_id = "100001";
  h.agent_version = "test";
  h.created_at_ms = 1'700'000'000'000;
  return h;
}

std::vector<v1::Record> samples(const Clock& clock, int n) {
  std::vector<v1::Record> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(testing::sample(clock, "p" + std::to_string(i)));
  }
  return out;
}

void expect_balanced(AgentStore& s) {
  auto a = s.accounting();
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->balanced()) << "produced=" << a->produced << " acked=" << a->acked
                             << " pending=" << a->pending_records << " evicted=" << a->evicted_total
                             << " quarantined=" << a->quarantined;
}

TEST(Outbox, CountsAppendedRecordsAsProducedAndPending) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto recs = samples(clock, 5);
  ASSERT_TRUE(s->append(recs).ok());
  EXPECT_EQ(recs[0].record_id(), 1u);
  EXPECT_EQ(recs[4].record_id(), 5u);
  auto a = s->accounting();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->produced, 5u);
  EXPECT_EQ(a->pending_records, 5u);
  EXPECT_GT(a->pending_bytes, 0u);
  expect_balanced(*s);
}

TEST(Outbox, SealsBatchesInSeqOrderAndResendsTheSameBytes) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok());
  auto recs = samples(clock, 25);
  ASSERT_TRUE(s->append(recs).ok());
  BatchLimits limits{10, 1 << 20};
  auto b1 = s->next_batch(header(), limits);
  ASSERT_TRUE(b1.ok());
  ASSERT_TRUE(b1->has_value());
  EXPECT_EQ((*b1)->seq, 1u);
  EXPECT_EQ((*b1)->records, 10u);
  // Not acknowledged: the same batch comes back, byte for byte, even with a new header.
  BatchHeader later = header();
  later.created_at_ms += 5000;
  auto again = s->next_batch(later, limits);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->seq, 1u);
  EXPECT_EQ((*again)->bytes, (*b1)->bytes);

  v1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString((*b1)->bytes));
  EXPECT_EQ(parsed.agent_id(), "agent-1");
  EXPECT_EQ(parsed.school_id(), "100001");
  EXPECT_EQ(parsed.seq(), 1u);
  ASSERT_EQ(parsed.records_size(), 10);
  EXPECT_EQ(parsed.records(0).record_id(), 1u);
  EXPECT_EQ(parsed.records(9).probe_sample().name(), "p9");

  ASSERT_TRUE(s->acknowledge(1).ok());
  auto b2 = s->next_batch(header(), limits);
  ASSERT_TRUE(b2.ok() && b2->has_value());
  EXPECT_EQ((*b2)->seq, 2u);
  v1::Batch p2;
  ASSERT_TRUE(p2.ParseFromString((*b2)->bytes));
  EXPECT_EQ(p2.records(0).record_id(), 11u);
  expect_balanced(*s);
}

TEST(Outbox, RespectsTheByteLimitButAlwaysSendsAtLeastOneRecord) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok());
  auto recs = samples(clock, 3);
  ASSERT_TRUE(s->append(recs).ok());
  auto b = s->next_batch(header(), BatchLimits{100, 10});
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->records, 1u);
}

TEST(Outbox, SeqSurvivesReopenAndIsNeverReused) {
  TempDir dir;
  ManualClock clock;
  {
    auto s = AgentStore::open(dir.file("a.db"), clock);
    ASSERT_TRUE(s.ok());
    auto recs = samples(clock, 2);
    ASSERT_TRUE(s->append(recs).ok());
    auto b = s->next_batch(header(), BatchLimits{1, 1 << 20});
    ASSERT_TRUE(b.ok() && b->has_value());
    ASSERT_TRUE(s->acknowledge((*b)->seq).ok());
  }
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok());
  auto b = s->next_batch(header(), BatchLimits{1, 1 << 20});
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->seq, 2u);
  auto recs = samples(clock, 1);
  ASSERT_TRUE(s->append(recs).ok());
  EXPECT_EQ(recs[0].record_id(), 3u);  // ids continue too
  expect_balanced(*s);
}

TEST(Outbox, RepeatedAckCountsOnce) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok());
  auto recs = samples(clock, 4);
  ASSERT_TRUE(s->append(recs).ok());
  auto b = s->next_batch(header(), BatchLimits{10, 1 << 20});
  ASSERT_TRUE(b.ok() && b->has_value());
  ASSERT_TRUE(s->acknowledge(1).ok());
  ASSERT_TRUE(s->acknowledge(1).ok());
  auto a = s->accounting();
  EXPECT_EQ(a->acked, 4u);
  EXPECT_EQ(a->pending_records, 0u);
  expect_balanced(*s);
}

TEST(Outbox, QuarantineCountsRecordsAndMovesOn) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok());
  auto recs = samples(clock, 6);
  ASSERT_TRUE(s->append(recs).ok());
  auto b = s->next_batch(header(), BatchLimits{4, 1 << 20});
  ASSERT_TRUE(s->quarantine((*b)->seq, "HTTP 400").ok());
  auto a = s->accounting();
  EXPECT_EQ(a->quarantined, 4u);
  EXPECT_EQ(a->pending_records, 2u);
  auto next = s->next_batch(header(), BatchLimits{4, 1 << 20});
  EXPECT_EQ((*next)->seq, 2u);
  EXPECT_EQ((*next)->records, 2u);
  expect_balanced(*s);
}

TEST(Outbox, SplitResendsTheRecordsInSmallerBatchesUnderNewSeqs) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok());
  auto recs = samples(clock, 8);
  ASSERT_TRUE(s->append(recs).ok());
  auto b = s->next_batch(header(), BatchLimits{8, 1 << 20});
  ASSERT_EQ((*b)->records, 8u);
  ASSERT_TRUE(s->split(1).ok());
  auto half = s->next_batch(header(), BatchLimits{8, 1 << 20});
  EXPECT_EQ((*half)->seq, 2u);
  EXPECT_EQ((*half)->records, 4u);
  v1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString((*half)->bytes));
  EXPECT_EQ(parsed.records(0).record_id(), 1u);  // same records, in order
  ASSERT_TRUE(s->acknowledge(2).ok());
  auto rest = s->next_batch(header(), BatchLimits{8, 1 << 20});
  EXPECT_EQ((*rest)->records, 4u);  // a delivery restores the normal limit
  ASSERT_TRUE(s->acknowledge((*rest)->seq).ok());
  auto a = s->accounting();
  EXPECT_EQ(a->acked, 8u);
  expect_balanced(*s);
}

TEST(Outbox, ASingleRecordTooLargeForCentralIsQuarantined) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  auto recs = samples(clock, 1);
  ASSERT_TRUE(s->append(recs).ok());
  auto b = s->next_batch(header(), BatchLimits{8, 1 << 20});
  ASSERT_TRUE(s->split((*b)->seq).ok());
  EXPECT_EQ(s->accounting()->quarantined, 1u);
  expect_balanced(*s);
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(Outbox, GarbageFileIsMovedAsideAndAFreshStoreStarts) {
  TempDir dir;
  ManualClock clock;
  const std::string path = dir.file("a.db");
  write_bytes(path, std::string(8192, 'x'));
  OpenReport report;
  auto s = AgentStore::open(path, clock, &report);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_TRUE(report.reset);
  EXPECT_FALSE(report.moved_to.empty());
  EXPECT_TRUE(std::filesystem::exists(report.moved_to));
  EXPECT_EQ(s->accounting()->store_resets, 1u);
  auto recs = samples(clock, 1);
  EXPECT_TRUE(s->append(recs).ok());
}

TEST(Outbox, TruncatedFileIsMovedAsideAndAFreshStoreStarts) {
  TempDir dir;
  ManualClock clock;
  const std::string path = dir.file("a.db");
  {
    auto s = AgentStore::open(path, clock);
    ASSERT_TRUE(s.ok());
    auto recs = samples(clock, 2000);
    ASSERT_TRUE(s->append(recs).ok());
    ASSERT_TRUE(s->compact().ok());
  }
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 3);
  OpenReport report;
  auto s = AgentStore::open(path, clock, &report);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_TRUE(report.reset) << "a truncated file was accepted as healthy";
  expect_balanced(*s);
}

// Seqs and record ids must never repeat (central dedups on seq). When the damaged file still
// says how far they had gone, the fresh store carries on from there.
TEST(Outbox, AFreshStoreCarriesOnTheSeqAndRecordIdsOfATruncatedOne) {
  TempDir dir;
  ManualClock clock;
  const std::string path = dir.file("a.db");
  uint64_t last_seq = 0;
  {
    auto s = AgentStore::open(path, clock);
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 5; ++i) {
      auto recs = samples(clock, 400);
      ASSERT_TRUE(s->append(recs).ok());
      auto b = s->next_batch(header(), BatchLimits{});
      ASSERT_TRUE(b.ok() && b->has_value());
      last_seq = (*b)->seq;
      ASSERT_TRUE(s->acknowledge(last_seq).ok());
    }
    auto more = samples(clock, 3000);
    ASSERT_TRUE(s->append(more).ok());
    ASSERT_TRUE(s->compact().ok());
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  OpenReport report;
  auto s = AgentStore::open(path, clock, &report);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  ASSERT_TRUE(report.reset);
  EXPECT_EQ(report.salvaged_next_seq, last_seq + 1);
  EXPECT_EQ(report.salvaged_last_record_id, 5 * 400 + 3000);
  auto recs = samples(clock, 1);
  ASSERT_TRUE(s->append(recs).ok());
  EXPECT_EQ(recs[0].record_id(), 5u * 400 + 3000 + 1);
  auto b = s->next_batch(header(), BatchLimits{});
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->seq, last_seq + 1);
}

TEST(Outbox, CorrectsTimesTakenBeforeTheClockSynchronised) {
  TempDir dir;
  // Boot at 1970 with an unsynchronised clock, as a Pi without RTC does.
  ManualClock clock(/*wall_ms=*/5'000, /*mono_ms=*/5'000, /*synced=*/false, "boot-a");
  auto s = AgentStore::open(dir.file("a.db"), clock);
  std::vector<v1::Record> early = {testing::sample(clock)};
  ASSERT_TRUE(s->append(early).ok());
  clock.advance_ms(60'000);
  // NTP steps the wall clock to the real time.
  clock.set_wall_ms(1'764'000'000'000);
  clock.set_synchronised(true);
  auto n = s->correct_unsynchronised_times(clock.wall_ms(), clock.mono_ms(), clock.boot_id());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto b = s->next_batch(header(), BatchLimits{});
  v1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString((*b)->bytes));
  EXPECT_EQ(parsed.records(0).observed_at_ms(), 1'764'000'000'000 - 60'000);
  EXPECT_TRUE(parsed.records(0).time_corrected());
  EXPECT_TRUE(parsed.records(0).clock_synced());
  expect_balanced(*s);
}

TEST(Outbox, RebaseUnsealsTheBatchAndRaisesTheNextSeq) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  auto recs = samples(clock, 3);
  ASSERT_TRUE(s->append(recs).ok());
  auto b = s->next_batch(header(), BatchLimits{});
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->seq, 1u);
  ASSERT_TRUE(s->rebase(1, 41).ok());
  auto again = s->next_batch(header(), BatchLimits{});
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->seq, 41u);
  EXPECT_EQ((*again)->records, 3u);
  // A rebase never lowers the seq.
  ASSERT_TRUE(s->rebase(41, 5).ok());
  auto third = s->next_batch(header(), BatchLimits{});
  EXPECT_EQ((*third)->seq, 42u);
  expect_balanced(*s);
}

// Pi at 1970: the first batch is sealed while uploads fail with "certificate not yet valid".
// When NTP syncs, that batch never reached central, so it is re-sealed with corrected times.
TEST(Outbox, CorrectionReSealsASealedBatchThatNeverReachedCentral) {
  TempDir dir;
  ManualClock clock(/*wall_ms=*/5'000, /*mono_ms=*/5'000, /*synced=*/false, "boot-a");
  auto s = AgentStore::open(dir.file("a.db"), clock);
  auto recs = samples(clock, 2);
  ASSERT_TRUE(s->append(recs).ok());
  auto sealed = s->next_batch(header(), BatchLimits{});
  ASSERT_TRUE(sealed.ok() && sealed->has_value());
  clock.advance_ms(30'000);
  clock.set_wall_ms(1'764'000'000'000);
  clock.set_synchronised(true);
  auto n = s->correct_unsynchronised_times(clock.wall_ms(), clock.mono_ms(), clock.boot_id());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  auto b = s->next_batch(header(), BatchLimits{});
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->seq, 2u) << "the re-sealed batch must not reuse the old seq";
  v1::Batch parsed;
  ASSERT_TRUE(parsed.ParseFromString((*b)->bytes));
  ASSERT_EQ(parsed.records_size(), 2);
  EXPECT_EQ(parsed.records(0).observed_at_ms(), 1'764'000'000'000 - 30'000);
  EXPECT_TRUE(parsed.records(0).time_corrected());
  expect_balanced(*s);
}

TEST(Outbox, CorrectionKeepsASealedBatchThatMayHaveReachedCentral) {
  TempDir dir;
  ManualClock clock(/*wall_ms=*/5'000, /*mono_ms=*/5'000, /*synced=*/false, "boot-a");
  auto s = AgentStore::open(dir.file("a.db"), clock);
  auto recs = samples(clock, 2);
  ASSERT_TRUE(s->append(recs).ok());
  auto sealed = s->next_batch(header(), BatchLimits{});
  ASSERT_TRUE(sealed.ok() && sealed->has_value());
  ASSERT_TRUE(s->mark_maybe_delivered((*sealed)->seq).ok());
  clock.set_wall_ms(1'764'000'000'000);
  clock.set_synchronised(true);
  auto n = s->correct_unsynchronised_times(clock.wall_ms(), clock.mono_ms(), clock.boot_id());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  auto b = s->next_batch(header(), BatchLimits{});
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->seq, (*sealed)->seq);
  EXPECT_EQ((*b)->bytes, (*sealed)->bytes) << "a seq central may hold must keep its bytes";
  expect_balanced(*s);
}

// The agent was killed while a POST was in flight: nobody knows whether central stored it, so
// the batch found sealed at the next start keeps its seq and bytes through the correction.
TEST(Outbox, CorrectionKeepsABatchSealedByAnEarlierProcess) {
  TempDir dir;
  ManualClock clock(/*wall_ms=*/5'000, /*mono_ms=*/5'000, /*synced=*/false, "boot-a");
  std::optional<SealedBatch> sealed;
  {
    auto s = AgentStore::open(dir.file("a.db"), clock);
    auto recs = samples(clock, 2);
    ASSERT_TRUE(s->append(recs).ok());
    auto b = s->next_batch(header(), BatchLimits{});
    ASSERT_TRUE(b.ok() && b->has_value());
    sealed = **b;
  }
  auto s = AgentStore::open(dir.file("a.db"), clock);
  ASSERT_TRUE(s.ok());
  clock.set_wall_ms(1'764'000'000'000);
  clock.set_synchronised(true);
  auto n = s->correct_unsynchronised_times(clock.wall_ms(), clock.mono_ms(), clock.boot_id());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  auto b = s->next_batch(header(), BatchLimits{});
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->seq, sealed->seq);
  EXPECT_EQ((*b)->bytes, sealed->bytes);
  expect_balanced(*s);
}

TEST(Outbox, CompactGivesFreePagesBack) {
  TempDir dir;
  ManualClock clock;
  auto s = AgentStore::open(dir.file("a.db"), clock);
  for (int i = 0; i < 20; ++i) {
    auto recs = samples(clock, 500);
    ASSERT_TRUE(s->append(recs).ok());
  }
  for (;;) {
    auto b = s->next_batch(header(), BatchLimits{});
    ASSERT_TRUE(b.ok());
    if (!b->has_value()) {
      break;
    }
    ASSERT_TRUE(s->acknowledge((*b)->seq).ok());
  }
  const uint64_t before = s->file_bytes();
  auto reclaimable = s->reclaimable_bytes();
  ASSERT_TRUE(reclaimable.ok());
  EXPECT_GT(*reclaimable, 0);
  ASSERT_TRUE(s->compact(1).ok());
  EXPECT_LT(s->file_bytes(), before / 2) << "before=" << before;
  EXPECT_EQ(*s->reclaimable_bytes(), 0);
  expect_balanced(*s);
}

TEST(Outbox, StateValuesPersist) {
  TempDir dir;
  ManualClock clock;
  {
    auto s = AgentStore::open(dir.file("a.db"), clock);
    ASSERT_TRUE(s->put_state("k", std::string("v\0w", 3)).ok());
  }
  auto s = AgentStore::open(dir.file("a.db"), clock);
  auto v = s->get_state("k");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, std::string("v\0w", 3));
}

}  // namespace
}  // namespace schoolnet::store
