#include <fstream>

#include <gtest/gtest.h>

#include "central/ingest/handler.hpp"
#include "core/gzip.hpp"
#include "harness.hpp"

namespace schoolnet::central {
namespace {

using namespace testing;

constexpr int64_t kT0 = 1'700'000'000'000;

TEST(CentralIngest, AcksAStoredBatchWithItsSeq) {
  Harness h;
  v1::Batch b = make_batch(1);
  add_sample(b, "dns", kT0, true);
  add_device(b, "mac:aa:bb:cc:00:00:02", kT0);
  const http::Response r = h.post(b);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-protobuf");
  const v1::UploadAck ack = parse_ack(r);
  EXPECT_EQ(ack.acked_seq(), 1u);
  EXPECT_FALSE(ack.duplicate());
  auto devices = h.store().devices(kSchool);
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ(h.counters().records(), 2u);
}

TEST(CentralIngest, AcceptsIdentityEncoding) {
  Harness h;
  v1::Batch b = make_batch(1);
  add_sample(b, "dns", kT0, true);
  const http::Response r = h.post(b, kAgentToken, /*gzip=*/false);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse_ack(r).acked_seq(), 1u);
}

TEST(CentralIngest, AnswersDuplicateSeqWithAckAndStoresNothing) {
  Harness h;
  v1::Batch b = make_batch(5);
  add_sample(b, "dns", kT0, true);
  ASSERT_EQ(h.post(b).status, 200);
  const http::Response again = h.post(b);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(parse_ack(again).acked_seq(), 5u);
  EXPECT_TRUE(parse_ack(again).duplicate());

  auto agents = h.store().agents(kSchool);
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ((*agents)[0].records_received, 1u);
  EXPECT_EQ((*agents)[0].batches_received, 1u);
  EXPECT_EQ((*agents)[0].duplicates_dropped, 1u);
  EXPECT_EQ(h.counters().duplicates(), 1u);
  EXPECT_EQ(h.counters().records(), 1u);
}

// An agent whose store was reset starts its seq at 1 again. The ack of such a duplicate says
// how far central already is, so the agent can send those (new) records under a higher seq.
TEST(CentralIngest, AcksCarryTheAgentsLastSeq) {
  Harness h;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    v1::Batch b = make_batch(seq);
    add_sample(b, "dns", kT0, true);
    const http::Response r = h.post(b);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(parse_ack(r).last_seq(), seq);
  }
  v1::Batch reset = make_batch(1);
  add_sample(reset, "dns", kT0 + 99, false);
  const v1::UploadAck dup = parse_ack(h.post(reset));
  EXPECT_TRUE(dup.duplicate());
  EXPECT_EQ(dup.acked_seq(), 1u);
  EXPECT_EQ(dup.last_seq(), 3u);
  h.reopen();
  v1::Batch next = make_batch(4);
  add_sample(next, "dns", kT0, true);
  EXPECT_EQ(parse_ack(h.post(next)).last_seq(), 4u);
}

TEST(CentralIngest, DeduplicatesAcrossAReopenOfTheDatabase) {
  Harness h;
  v1::Batch b = make_batch(9);
  add_sample(b, "dns", kT0, true);
  ASSERT_EQ(h.post(b).status, 200);
  h.reopen();
  const http::Response again = h.post(b);
  ASSERT_EQ(again.status, 200);
  EXPECT_TRUE(parse_ack(again).duplicate());
  auto agents = h.store().agents(kSchool);
  ASSERT_TRUE(agents.ok());
  EXPECT_EQ((*agents)[0].records_received, 1u);
  EXPECT_EQ((*agents)[0].duplicates_dropped, 1u);
}

TEST(CentralIngest, DeduplicatesSeqsPrunedByRetention) {
  Harness h;
  v1::Batch b = make_batch(3);
  add_sample(b, "dns", kT0, true);
  ASSERT_EQ(h.post(b).status, 200);
  // Every dedup entry is older than the cutoff: the agent's floor keeps the memory of seq 3.
  ASSERT_TRUE(h.store().sweep(kT0 + 1).ok());
  v1::Batch older = make_batch(2);
  add_sample(older, "dns", kT0, true);
  EXPECT_TRUE(parse_ack(h.post(b)).duplicate());
  EXPECT_TRUE(parse_ack(h.post(older)).duplicate());
  v1::Batch newer = make_batch(4);
  add_sample(newer, "dns", kT0 + 5, true);
  EXPECT_FALSE(parse_ack(h.post(newer)).duplicate());
}

TEST(CentralIngest, RefusesAMissingOrUnknownTokenWith401) {
  Harness h;
  const v1::Batch b = make_batch(1);
  EXPECT_EQ(h.post(b, "").status, 401);
  EXPECT_EQ(h.post(b, "not-a-token").status, 401);
  EXPECT_EQ(h.post(b, kAllToken).status, 401);  // an API token is not an agent token
  http::Request r = h.upload(b);
  r.set_header("authorization", "Basic abc");
  EXPECT_EQ(h.send(r).status, 401);
}

TEST(CentralIngest, RefusesAnotherSchoolsBatchWith403) {
  Harness h;
  EXPECT_EQ(h.post(make_batch(1, kOtherSchool)).status, 403);
  EXPECT_EQ(h.post(make_batch(1, kSchool), kOtherAgentToken).status, 403);
  auto has = h.store().has_school(kOtherSchool);
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
}

TEST(CentralIngest, RefusesAnotherAgentIdOnABoundTokenWith403) {
  Harness h;
  EXPECT_EQ(h.post(make_batch(1, kSchool, kAgent), kBoundToken).status, 200);
  EXPECT_EQ(h.post(make_batch(2, kSchool, "impostor"), kBoundToken).status, 403);
}

TEST(CentralIngest, RefusesGarbageGzipWith400AndAReason) {
  Harness h;
  const http::Response r = h.send(Harness::upload_bytes("\x1f\x8b garbage"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("gzip"), std::string::npos) << r.body;
}

TEST(CentralIngest, RefusesGarbageProtobufWith400) {
  Harness h;
  EXPECT_EQ(h.send(Harness::upload_bytes(gzip_compress("\xff\xff\xff\xff\xff"))).status, 400);
  EXPECT_EQ(h.send(Harness::upload_bytes("\x08", kAgentToken, false)).status, 400);
}

TEST(CentralIngest, RefusesSeqZeroAndAnEmptyAgentIdWith400) {
  Harness h;
  EXPECT_EQ(h.post(make_batch(0)).status, 400);
  EXPECT_EQ(h.post(make_batch(1, kSchool, "")).status, 400);
}

TEST(CentralIngest, RefusesABodyOverTheLimitWith413FromContentLengthAndFromTheBody) {
  HarnessOptions o;
  o.ingest.max_body = 1024;
  Harness h(o);
  http::Request r = Harness::upload_bytes(std::string(2000, 'x'));
  EXPECT_EQ(h.send(r).status, 413);
  r.headers.erase(r.headers.begin() + static_cast<long>(r.headers.size()) - 1);  // no length
  ASSERT_EQ(r.header("content-length"), nullptr);
  EXPECT_EQ(h.send(r).status, 413);
}

TEST(CentralIngest, RefusesABatchThatInflatesPastTheLimitWith413) {
  HarnessOptions o;
  o.ingest.max_decompressed = 4096;
  Harness h(o);
  v1::Batch b = make_batch(1);
  for (int i = 0; i < 200; ++i) {
    add_sample(b, "probe-" + std::to_string(i), kT0, true);
  }
  ASSERT_GT(serialized(b).size(), 4096u);
  EXPECT_EQ(h.post(b).status, 413);
}

TEST(CentralIngest, RefusesTooManyRecordsWith413) {
  HarnessOptions o;
  o.ingest.max_records = 10;
  Harness h(o);
  v1::Batch b = make_batch(1);
  for (int i = 0; i < 11; ++i) {
    add_sample(b, "p", kT0 + i, true);
  }
  EXPECT_EQ(h.post(b).status, 413);
  b.mutable_records()->RemoveLast();
  EXPECT_EQ(h.post(b).status, 200);
}

TEST(CentralIngest, AnswersMaintenanceWith503AndTheFilesRetryAfter) {
  Harness probe;
  HarnessOptions o;
  o.ingest.maintenance_file = probe.dir().file("maint");
  Harness h(o);
  EXPECT_EQ(h.post(make_batch(1)).status, 200);
  { std::ofstream(o.ingest.maintenance_file) << "120\n"; }
  http::Response r = h.post(make_batch(2));
  EXPECT_EQ(r.status, 503);
  ASSERT_NE(r.header("retry-after"), nullptr);
  EXPECT_EQ(*r.header("retry-after"), "120");
  { std::ofstream(o.ingest.maintenance_file) << ""; }
  r = h.post(make_batch(2));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(*r.header("retry-after"), "30");
  { std::ofstream(o.ingest.maintenance_file) << "soon"; }
  EXPECT_EQ(*h.post(make_batch(2)).header("retry-after"), "30");
  std::filesystem::remove(o.ingest.maintenance_file);
  EXPECT_EQ(h.post(make_batch(2)).status, 200);
}

TEST(CentralIngest, RateLimitsEachAgentWith429AndRetryAfter) {
  HarnessOptions o;
  o.ingest.agent_rate = 2;
  Harness h(o);
  EXPECT_EQ(h.post(make_batch(1)).status, 200);
  EXPECT_EQ(h.post(make_batch(2)).status, 200);
  const http::Response limited = h.post(make_batch(3));
  EXPECT_EQ(limited.status, 429);
  ASSERT_NE(limited.header("retry-after"), nullptr);
  EXPECT_EQ(*limited.header("retry-after"), "1");
  // Another agent credential has its own bucket.
  EXPECT_EQ(h.post(make_batch(1, kOtherSchool, "other"), kOtherAgentToken).status, 200);
  h.clock().advance_ms(500);
  EXPECT_EQ(h.post(make_batch(3)).status, 200);
  EXPECT_EQ(h.post(make_batch(4)).status, 429);
}

TEST(CentralIngest, LateSampleFillsHistoryButDoesNotReplaceNewerLatestState) {
  Harness h;
  v1::Batch live = make_batch(1);
  add_sample(live, "dns", kT0, true, 10);
  ASSERT_EQ(h.post(live).status, 200);
  // After an outage, an older failing sample arrives.
  v1::Batch late = make_batch(2);
  add_sample(late, "dns", kT0 - 3'600'000, false, 0);
  ASSERT_EQ(h.post(late).status, 200);

  auto probes = h.store().probes(kSchool);
  ASSERT_TRUE(probes.ok());
  ASSERT_EQ(probes->size(), 1u);
  ASSERT_TRUE((*probes)[0].sample.has_value());
  EXPECT_TRUE((*probes)[0].sample->ok());
  EXPECT_EQ((*probes)[0].observed_ms, kT0);

  // A newer sample does replace it.
  v1::Batch newer = make_batch(3);
  add_sample(newer, "dns", kT0 + 60'000, false, 0);
  ASSERT_EQ(h.post(newer).status, 200);
  probes = h.store().probes(kSchool);
  ASSERT_TRUE(probes.ok());
  EXPECT_FALSE((*probes)[0].sample->ok());
  EXPECT_EQ((*probes)[0].observed_ms, kT0 + 60'000);
}

TEST(CentralIngest, AppliesABatchAtomicallyWhicheverWriteFails) {
  // For N = 0..k, the Nth write of the apply fails: nothing of the batch may remain, and a
  // retry afterwards stores it exactly once.
  for (int fail_at = 0;; ++fail_at) {
    int writes = 0;
    bool armed = true;
    HarnessOptions o;
    o.fail_write = [&] { return armed && writes++ == fail_at; };
    Harness h(o);
    v1::Batch b = make_batch(1);
    add_sample(b, "dns", kT0, true);
    add_device(b, "mac:aa:bb:cc:00:00:02", kT0);
    b.add_records()->mutable_agent_health()->set_produced(3);
    v1::Record* topo = b.add_records();
    topo->set_observed_at_ms(kT0);
    topo->mutable_topology()->add_links()->set_from_device_id("a");

    const http::Response r = h.post(b);
    if (r.status == 200) {
      EXPECT_GT(fail_at, 3) << "every write of the apply was reached";
      break;  // fail_at passed the last write: the whole sweep is done
    }
    EXPECT_EQ(r.status, 503);
    ASSERT_NE(r.header("retry-after"), nullptr);
    auto has = h.store().has_school(kSchool);
    ASSERT_TRUE(has.ok());
    EXPECT_FALSE(*has) << "fail_at=" << fail_at;
    EXPECT_TRUE(h.store().devices(kSchool)->empty()) << "fail_at=" << fail_at;
    EXPECT_TRUE(h.store().probes(kSchool)->empty()) << "fail_at=" << fail_at;
    EXPECT_FALSE(h.store().topology(kSchool)->has_value()) << "fail_at=" << fail_at;

    armed = false;
    const http::Response retry = h.post(b);
    ASSERT_EQ(retry.status, 200);
    EXPECT_FALSE(parse_ack(retry).duplicate());
    auto agents = h.store().agents(kSchool);
    ASSERT_TRUE(agents.ok());
    ASSERT_EQ(agents->size(), 1u);
    EXPECT_EQ((*agents)[0].records_received, 4u);
    EXPECT_EQ((*agents)[0].batches_received, 1u);
    ASSERT_LT(fail_at, 100);
  }
}

TEST(CentralIngest, RefusesAnUnsupportedEncodingOrContentTypeWith415) {
  Harness h;
  http::Request r = h.upload(make_batch(1));
  r.set_header("content-encoding", "br");
  EXPECT_EQ(h.send(r).status, 415);
  r = h.upload(make_batch(1));
  r.set_header("content-type", "application/json");
  EXPECT_EQ(h.send(r).status, 415);
}

TEST(CentralIngest, CountsRequestsByStatus) {
  Harness h;
  ASSERT_EQ(h.post(make_batch(1)).status, 200);
  ASSERT_EQ(h.post(make_batch(1), "").status, 401);
  ASSERT_EQ(h.post(make_batch(0)).status, 400);
  const auto counts = h.counters().requests();
  EXPECT_EQ(counts.at(200), 1u);
  EXPECT_EQ(counts.at(401), 1u);
  EXPECT_EQ(counts.at(400), 1u);
}

TEST(CentralIngest, AcceptsRecordKindsFromANewerContract) {
  Harness h;
  v1::Batch b = make_batch(1);
  v1::Record* r = b.add_records();
  r->set_observed_at_ms(kT0);
  // Field 99 is not in this build's oneof: it arrives as an unknown field.
  r->GetReflection()->MutableUnknownFields(r)->AddLengthDelimited(99, "future");
  const http::Response resp = h.post(b);
  ASSERT_EQ(resp.status, 200) << resp.body;
}

}  // namespace
}  // namespace schoolnet::central
