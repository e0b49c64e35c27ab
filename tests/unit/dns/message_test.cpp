#include "dns/message.hpp"

#include <gtest/gtest.h>

#include "support/pcap.hpp"

namespace schoolnet::dns {
namespace {

const std::string kData = SCHOOLNET_TEST_DATA;

std::vector<uint8_t> raw(const std::string& name) {
  auto pkts = testing::read_udp_payloads(kData + "/mdns/" + name);
  EXPECT_EQ(pkts.size(), 1u);
  return pkts.empty() ? std::vector<uint8_t>{} : pkts[0].payload;
}

// A hand-built response with three A answers; the second one's name is a compression pointer
// aimed outside the message.
std::vector<uint8_t> three_answers_one_broken() {
  std::vector<uint8_t> m = {0x12, 0x34, 0x84, 0x00, 0, 0, 0, 3, 0, 0, 0, 0};
  auto a = [&](std::vector<uint8_t> name, uint8_t last) {
    m.insert(m.end(), name.begin(), name.end());
    m.insert(m.end(), {0, 1, 0, 1, 0, 0, 0, 120, 0, 4, 192, 0, 2, last});
  };
  a({3, 'o', 'n', 'e', 5, 'l', 'o', 'c', 'a', 'l', 0}, 1);
  a({0xC3, 0xFF}, 2);  // pointer to offset 1023
  a({0xC0, 12}, 3);    // pointer back to "one.local"
  return m;
}

TEST(DnsMessage, SkipsOnlyTheBrokenRecordAndKeepsTheRest) {
  const auto m = three_answers_one_broken();
  auto r = parse(m);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->answers.size(), 2u);
  EXPECT_EQ(format_a(*r->answers[0].a), "192.0.2.1");
  EXPECT_EQ(format_a(*r->answers[1].a), "192.0.2.3");
  EXPECT_EQ(r->answers[1].name.to_string(), "one.local");
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].find("answer 1"), std::string::npos);
  EXPECT_FALSE(r->truncated_early);
}

TEST(DnsMessage, EndsPointerLoopsWithAProblemNotAHang) {
  // A name that points at itself.
  std::vector<uint8_t> m = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0,  0, 0xC0, 12,
                            0, 1, 0,    1, 0, 0, 0, 1, 0, 4, 10, 0, 0,    1};
  auto r = parse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->answers.empty());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].find("compression"), std::string::npos);
}

TEST(DnsMessage, RejectsNamesLongerThan255Bytes) {
  std::vector<uint8_t> m = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0};
  for (int i = 0; i < 5; ++i) {
    m.push_back(63);
    m.insert(m.end(), 63, 'x');
  }
  m.push_back(0);
  m.insert(m.end(), {0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 10, 0, 0, 1});
  auto r = parse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->answers.empty());
  EXPECT_NE(r->problems.at(0).find("255"), std::string::npos);
}

TEST(DnsMessage, ShortInputIsAnErrorAndCountsAreNotTrusted) {
  EXPECT_FALSE(parse(std::vector<uint8_t>{1, 2, 3}).ok());
  // The header claims 65535 answers; the message holds none.
  std::vector<uint8_t> m = {0, 0, 0x84, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0};
  auto r = parse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->truncated_early);
  EXPECT_TRUE(r->answers.empty());
}

TEST(DnsMessage, BuildsQueriesThatParseBack) {
  const auto q =
      build_query(0xBEEF, {{Name::from_dotted("_ipp._tcp.local"), kPtr, 1, true}}, false);
  auto r = parse(q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, 0xBEEF);
  EXPECT_FALSE(r->is_response());
  ASSERT_EQ(r->questions.size(), 1u);
  EXPECT_EQ(r->questions[0].name.to_string(), "_ipp._tcp.local");
  EXPECT_TRUE(r->questions[0].unicast_response);
}

TEST(DnsMessage, ReadsARealChromecastResponse) {
  auto r = parse(raw("sming-192.168.1.103.mdns"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_response());
  EXPECT_TRUE(r->problems.empty());
  bool ptr = false, srv = false, txt = false, a = false;
  for (const auto* section : {&r->answers, &r->additionals}) {
    for (const auto& rr : *section) {
      ptr |= rr.ptr.has_value();
      srv |= rr.srv.has_value();
      txt |= rr.txt.has_value();
      a |= rr.a.has_value();
    }
  }
  EXPECT_TRUE(ptr && srv && txt && a);
}

TEST(DnsMessage, KeepsEmptyTxtValuesOfARealSpeaker) {
  auto r = parse(raw("sming-192.168.1.100.mdns"));
  ASSERT_TRUE(r.ok());
  bool empty_value = false;
  for (const auto* section : {&r->answers, &r->additionals}) {
    for (const auto& rr : *section) {
      if (!rr.txt) {
        continue;
      }
      for (const auto& e : *rr.txt) {
        auto [k, v] = split_txt(e);
        empty_value |= (k == "rm" && v && v->empty());
      }
    }
  }
  EXPECT_TRUE(empty_value);
}

TEST(DnsMessage, SurvivesTheCompressionLoopAttackCaptures) {
  for (const char* f : {"tcpdump-dns-zlip-1.pcap", "tcpdump-dns-zlip-2.pcap"}) {
    auto pkts = testing::read_udp_payloads(kData + "/mdns/" + f);
    ASSERT_FALSE(pkts.empty()) << f;
    for (const auto& p : pkts) {
      auto r = parse(p.payload);
      ASSERT_TRUE(r.ok()) << f;
      EXPECT_FALSE(r->problems.empty()) << f << ": a looping name was accepted";
    }
  }
}

TEST(DnsMessage, StopsAtBadLabelTypesAndKeepsWhatCameBefore) {
  auto pkts = testing::read_udp_payloads(kData + "/mdns/tcpdump-dns-badlabel.pcap");
  ASSERT_FALSE(pkts.empty());
  size_t with_problems = 0;
  for (const auto& p : pkts) {
    auto r = parse(p.payload);
    if (r.ok() && !r->problems.empty()) {
      ++with_problems;
    }
  }
  EXPECT_GT(with_problems, 0u);
}

TEST(DnsMessage, EveryRealCapturePacketParsesWithoutLosingTheHeader) {
  size_t packets = 0;
  for (const char* f : {"ndpi-telegram-mdns-only.pcap", "ndpi-anyconnect-vpn-mdns-only.pcap",
                        "ndpi-wechat-mdns-only.pcap", "ndpi-wa_voice-mdns-only.pcap",
                        "ndpi-whatsapp_login_call-mdns-only.pcap", "ndpi-android-mdns-only.pcap"}) {
    for (const auto& p : testing::read_udp_payloads(kData + "/mdns/" + f)) {
      ++packets;
      auto r = parse(p.payload);
      ASSERT_TRUE(r.ok()) << f;
      EXPECT_FALSE(r->truncated_early) << f << ": " << (r->problems.empty() ? "" : r->problems[0]);
    }
  }
  EXPECT_GT(packets, 400u);
}

TEST(DnsName, ComparesCaseInsensitivelyAndEscapesDots) {
  Name a = Name::from_dotted("Printer._IPP._tcp.local");
  Name b = Name::from_dotted("printer._ipp._TCP.LOCAL");
  EXPECT_TRUE(a.equals(b));
  EXPECT_TRUE(a.ends_with(Name::from_dotted("_ipp._tcp.local")));
  Name dotted;
  dotted.labels = {"Room 4. Printer", "_ipp", "_tcp", "local"};
  EXPECT_EQ(dotted.to_string(), "Room 4\\. Printer._ipp._tcp.local");
}

}  // namespace
}  // namespace schoolnet::dns
