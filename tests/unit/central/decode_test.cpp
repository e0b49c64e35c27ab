#include "central/ingest/decode.hpp"

#include <gtest/gtest.h>

#include "core/gzip.hpp"
#include "harness.hpp"

namespace schoolnet::central::ingest {
namespace {

using testing::add_sample;
using testing::make_batch;
using testing::serialized;

TEST(CentralDecode, InflatesGzipWithinTheLimit) {
  const std::string data(100'000, 'x');
  auto out = inflate_gzip(gzip_compress(data), 100'000);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(*out, data);
}

TEST(CentralDecode, RefusesGzipThatInflatesPastTheLimit) {
  const std::string bomb = gzip_compress(std::string(10 << 20, '\0'));
  EXPECT_LT(bomb.size(), 64u * 1024);
  auto out = inflate_gzip(bomb, 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, kTooLarge);
  EXPECT_EQ(status_for(out.error()), 413);
}

TEST(CentralDecode, RefusesTruncatedAndGarbageGzip) {
  const std::string good = gzip_compress(std::string(5000, 'a'));
  for (const std::string& bad :
       {std::string("not gzip at all"), good.substr(0, good.size() / 2), std::string(),
        good + "trailing garbage", std::string("\x1f\x8b\x08\x00", 4)}) {
    auto out = inflate_gzip(bad, 1 << 20);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, kBadGzip);
    EXPECT_EQ(status_for(out.error()), 400);
  }
}

TEST(CentralDecode, AcceptsConcatenatedGzipMembers) {
  auto out = inflate_gzip(gzip_compress("abc") + gzip_compress("def"), 100);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(*out, "abcdef");
}

TEST(CentralDecode, CountsRecordsOnTheWireWithoutParsingThem) {
  v1::Batch b = make_batch(1);
  for (int i = 0; i < 7; ++i) {
    add_sample(b, "p", 1000 + i, true);
  }
  auto n = count_records(serialized(b));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 7);
  EXPECT_FALSE(count_records("\x0a\xff\xff\xff\xff\x0f").ok());
}

TEST(CentralDecode, RefusesTooManyRecordsBeforeParsing) {
  // 100 empty records: 2 bytes each on the wire.
  std::string wire = serialized(make_batch(1));
  for (int i = 0; i < 100; ++i) {
    wire += std::string("\x32\x00", 2);
  }
  auto b = decode_batch(wire, Encoding::identity, DecodeLimits{1 << 20, 99});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(status_for(b.error()), 413);
  EXPECT_TRUE(decode_batch(wire, Encoding::identity, DecodeLimits{1 << 20, 100}).ok());
}

TEST(CentralDecode, ValidatesSeqAgentIdSchoolIdAndRecordKeys) {
  const DecodeLimits limits;
  EXPECT_TRUE(validate_batch(make_batch(1), limits).ok());
  EXPECT_EQ(validate_batch(make_batch(0), limits).error().code, kInvalid);
  EXPECT_EQ(validate_batch(make_batch(1, "100001", ""), limits).error().code, kInvalid);
  EXPECT_EQ(validate_batch(make_batch(1, "", "a"), limits).error().code, kInvalid);
  EXPECT_EQ(validate_batch(make_batch(1, "100001", "a\nb"), limits).error().code, kInvalid);
  EXPECT_EQ(validate_batch(make_batch(uint64_t{1} << 63), limits).error().code, kInvalid);
  v1::Batch no_name = make_batch(1);
  add_sample(no_name, "", 1, true);
  EXPECT_EQ(validate_batch(no_name, limits).error().code, kInvalid);
  v1::Batch no_device_id = make_batch(1);
  no_device_id.add_records()->mutable_device_snapshot();
  EXPECT_EQ(validate_batch(no_device_id, limits).error().code, kInvalid);
}

TEST(CentralDecode, RefusesProtobufGarbage) {
  auto b = decode_batch("\xff\xff\xff\xff garbage", Encoding::identity, DecodeLimits{});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(status_for(b.error()), 400);
}

}  // namespace
}  // namespace schoolnet::central::ingest
