#include "core/text.hpp"

#include <gtest/gtest.h>

namespace schoolnet {
namespace {

TEST(Text, KeepsValidUtf8AsIs) {
  EXPECT_EQ(display_safe("Port \xe2\x80\x9cuplink\xe2\x80\x9d"),
            "Port \xe2\x80\x9cuplink\xe2\x80\x9d");
  EXPECT_TRUE(is_valid_utf8("\xe2\x80\x9c"));
}

TEST(Text, DropsTrailingNulPadding) {
  EXPECT_EQ(display_safe(std::string("lo\0\0\0\0", 6)), "lo");
  EXPECT_EQ(display_safe(std::string("ALCOMA IP-Stack\0", 16)), "ALCOMA IP-Stack");
}

TEST(Text, EscapesInvalidUtf8AndControlBytes) {
  // FTOS uses byte 0xDA as a line separator in sysDescr.
  EXPECT_EQ(display_safe("Dell\xda"
                         "FTOS"),
            "Dell\\xdaFTOS");
  EXPECT_FALSE(
      is_valid_utf8("Dell\xda"
                    "FTOS"));
  EXPECT_EQ(display_safe(std::string("ag\x01\0\0", 5)), "ag\\x01");
  EXPECT_EQ(display_safe(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(display_safe("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(display_safe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

TEST(Text, KeepsNewlinesOnlyWhenAsked) {
  EXPECT_EQ(display_safe("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(display_safe("a\r\nb", true), "a\nb");
}

TEST(Text, ResultIsAlwaysValidUtf8) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  EXPECT_TRUE(is_valid_utf8(display_safe(all)));
  EXPECT_TRUE(is_valid_utf8(display_safe(all, true)));
}

TEST(Text, ParsesAndFormatsMacs) {
  EXPECT_EQ(format_mac(parse_mac("AA:bb:0c:dd:ee:0F")), "aa:bb:0c:dd:ee:0f");
  EXPECT_EQ(format_mac(parse_mac("aabb.ccdd.eeff")), "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(parse_mac("aa:bb:cc"), "");
  EXPECT_EQ(parse_mac("zz:bb:cc:dd:ee:ff"), "");
}

TEST(Text, RedactedNeverShowsTheSecret) {
  EXPECT_EQ(redacted("s3cret-token").find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace schoolnet
