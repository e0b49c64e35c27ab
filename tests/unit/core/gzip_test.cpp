#include "core/gzip.hpp"

#include <gtest/gtest.h>

namespace schoolnet {
namespace {

TEST(Gzip, RoundTrips) {
  std::string data;
  for (int i = 0; i < 10000; ++i) {
    data += std::to_string(i);
  }
  auto back = gzip_decompress(gzip_compress(data), 1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
}

TEST(Gzip, RefusesToInflatePastTheLimit) {
  const std::string zeros(1 << 20, '\0');
  auto r = gzip_decompress(gzip_compress(zeros), 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "too_large");
}

TEST(Gzip, RejectsGarbageAndTruncation) {
  EXPECT_FALSE(gzip_decompress("not gzip at all", 1000).ok());
  const std::string z = gzip_compress("hello world hello world");
  EXPECT_FALSE(gzip_decompress(z.substr(0, z.size() - 6), 1000).ok());
}

}  // namespace
}  // namespace schoolnet
