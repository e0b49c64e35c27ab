// The frames between the agent and its SNMPv3 helper processes: every kind of varbind survives
// the trip, errors keep their code, and a broken or truncated frame is an error, never a crash
// or a half-read answer.
#include "discovery/v3_helper.hpp"

#include <gtest/gtest.h>

namespace schoolnet::discovery {
namespace {

TEST(V3Helper, EveryKindOfVarbindSurvivesTheTrip) {
  std::vector<VarBind> in;
  VarBind text;
  text.oid = parse_oid("1.3.6.1.2.1.1.1.0");
  text.type = VarType::octets;
  text.bytes = std::string("Cisco\0IOS\xff", 10);
  in.push_back(text);
  VarBind counter;
  counter.oid = parse_oid("1.3.6.1.2.1.31.1.1.1.6.3");
  counter.type = VarType::counter64;
  counter.unsigned_value = 0xfedcba9876543210ULL;
  counter.integer = static_cast<int64_t>(counter.unsigned_value);
  in.push_back(counter);
  VarBind object;
  object.oid = parse_oid("1.3.6.1.2.1.1.2.0");
  object.type = VarType::oid;
  object.oid_value = parse_oid("1.3.6.1.4.1.9.1.1208");
  in.push_back(object);
  VarBind negative;
  negative.oid = parse_oid("1.3.6.1.2.1.43.11.1.1.9.1.1");
  negative.type = VarType::integer;
  negative.integer = -3;
  in.push_back(negative);
  VarBind end;
  end.oid = parse_oid("1.3.6.1.2.1.2");
  end.type = VarType::end_of_mib_view;
  in.push_back(end);

  auto out = decode_answer(encode_answer(in));
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_EQ(out->size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ((*out)[i].oid, in[i].oid);
    EXPECT_EQ((*out)[i].type, in[i].type);
    EXPECT_EQ((*out)[i].bytes, in[i].bytes);
    EXPECT_EQ((*out)[i].integer, in[i].integer);
    EXPECT_EQ((*out)[i].unsigned_value, in[i].unsigned_value);
    EXPECT_EQ((*out)[i].oid_value, in[i].oid_value);
  }
}

TEST(V3Helper, AnErrorKeepsItsCode) {
  auto out = decode_answer(encode_answer(make_error("auth", "unknown user name")));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "auth");
  EXPECT_EQ(out.error().message, "unknown user name");
}

TEST(V3Helper, ATruncatedOrPaddedFrameIsAnError) {
  VarBind v;
  v.oid = parse_oid("1.3.6.1.2.1.1.5.0");
  v.type = VarType::octets;
  v.bytes = "core-switch";
  const std::string frame = encode_answer(std::vector<VarBind>{v});
  for (size_t n = 0; n < frame.size(); ++n) {
    auto out = decode_answer(std::string_view(frame).substr(0, n));
    EXPECT_FALSE(out.ok()) << "cut at " << n;
  }
  EXPECT_FALSE(decode_answer(frame + "x").ok());
  // A count that promises more varbinds than any device sends.
  std::string huge = frame;
  huge[1] = huge[2] = huge[3] = huge[4] = '\xff';
  EXPECT_FALSE(decode_answer(huge).ok());
}

}  // namespace
}  // namespace schoolnet::discovery
