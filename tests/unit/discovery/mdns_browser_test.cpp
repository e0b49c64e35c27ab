#include <map>
#include <set>

#include <gtest/gtest.h>

#include "discovery/mdns.hpp"
#include "support/pcap.hpp"

namespace schoolnet::discovery {
namespace {

const std::string kData = SCHOOLNET_TEST_DATA;

// Builds response messages record by record.
struct Response {
  dns::Message m;
  Response() { m.flags = 0x8400; }
  dns::ResourceRecord& add(const std::string& name, uint16_t type, uint32_t ttl = 120) {
    dns::ResourceRecord rr;
    rr.name = dns::Name::from_dotted(name);
    rr.type = type;
    rr.ttl = ttl;
    m.answers.push_back(rr);
    return m.answers.back();
  }
  Response& ptr(const std::string& owner, dns::Name target, uint32_t ttl = 120) {
    add(owner, dns::kPtr, ttl).ptr = std::move(target);
    return *this;
  }
  Response& srv(dns::Name owner, uint16_t port, const std::string& target, uint32_t ttl = 120) {
    dns::ResourceRecord rr;
    rr.name = std::move(owner);
    rr.type = dns::kSrv;
    rr.ttl = ttl;
    rr.srv = dns::Srv{0, 0, port, dns::Name::from_dotted(target)};
    m.answers.push_back(rr);
    return *this;
  }
  Response& txt(dns::Name owner, std::vector<std::string> entries) {
    dns::ResourceRecord rr;
    rr.name = std::move(owner);
    rr.type = dns::kTxt;
    rr.ttl = 120;
    rr.txt = std::move(entries);
    m.answers.push_back(rr);
    return *this;
  }
  Response& a(const std::string& host, std::array<uint8_t, 4> addr, uint32_t ttl = 120) {
    add(host, dns::kA, ttl).a = addr;
    return *this;
  }
};

dns::Name instance(const std::string& label, const std::string& type) {
  dns::Name n = dns::Name::from_dotted(type);
  n.labels.insert(n.labels.begin(), label);
  return n;
}

bool asks(const std::vector<std::vector<dns::Question>>& packets, const std::string& name,
          uint16_t type) {
  for (const auto& p : packets) {
    for (const auto& q : p) {
      if (q.type == type && q.name.equals(dns::Name::from_dotted(name))) {
        return true;
      }
    }
  }
  return false;
}

TEST(MdnsBrowser, AssemblesAServiceFromAnswersSplitOverPacketsInAnyOrder) {
  MdnsBrowser b;
  const auto inst = instance("Office Printer", "_ipp._tcp.local");
  // The address first, then SRV, then TXT, then the PTR: each in its own packet.
  b.ingest(Response().a("printer.local", {10, 50, 0, 20}).m, "10.50.0.20");
  b.ingest(Response().srv(inst, 631, "printer.local").m, "10.50.0.20");
  b.ingest(Response().txt(inst, {"ty=Brother HL-5370DW", "rp=ipp/print", "note="}).m, "10.50.0.20");
  b.ingest(Response().ptr("_ipp._tcp.local", inst).m, "10.50.0.20");
  const auto hosts = b.hosts();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].address, "10.50.0.20");
  EXPECT_EQ(hosts[0].hostname, "printer.local");
  ASSERT_EQ(hosts[0].services.size(), 1u);
  const auto& s = hosts[0].services[0];
  EXPECT_EQ(s.type, "_ipp._tcp");
  EXPECT_EQ(s.instance, "Office Printer");
  EXPECT_EQ(s.port, 631);
  ASSERT_EQ(s.txt.size(), 3u);
  EXPECT_EQ(s.txt[0], (std::pair<std::string, std::string>{"ty", "Brother HL-5370DW"}));
  EXPECT_EQ(s.txt[2], (std::pair<std::string, std::string>{"note", ""}));
}

TEST(MdnsBrowser, AsksForWhatIsMissingAndNoMoreThanTwice) {
  MdnsBrowser b;
  auto first = b.next_questions();
  EXPECT_TRUE(asks(first, "_services._dns-sd._udp.local", dns::kPtr));
  b.ingest(
      Response()
          .ptr("_services._dns-sd._udp.local", dns::Name::from_dotted("_googlecast._tcp.local"))
          .m,
      "x");
  auto second = b.next_questions();
  EXPECT_TRUE(asks(second, "_googlecast._tcp.local", dns::kPtr));
  // A PTR without SRV: the browser follows up with SRV and TXT for the instance.
  const auto inst = instance("Hall Display", "_googlecast._tcp.local");
  b.ingest(Response().ptr("_googlecast._tcp.local", inst).m, "10.50.0.50");
  auto third = b.next_questions();
  EXPECT_TRUE(asks(third, "Hall Display._googlecast._tcp.local", dns::kSrv));
  EXPECT_TRUE(asks(third, "Hall Display._googlecast._tcp.local", dns::kTxt));
  // The SRV names a host whose address is unknown: ask for it.
  b.ingest(Response().srv(inst, 8009, "cast-1.local").m, "10.50.0.50");
  auto fourth = b.next_questions();
  EXPECT_TRUE(asks(fourth, "cast-1.local", dns::kA));
  EXPECT_TRUE(asks(fourth, "cast-1.local", dns::kAaaa));
  // Each question at most twice over the browse.
  (void)b.next_questions();
  (void)b.next_questions();
  auto later = b.next_questions();
  EXPECT_FALSE(asks(later, "_services._dns-sd._udp.local", dns::kPtr));
  // Without an address record the packet's sender stands in.
  const auto hosts = b.hosts();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].address, "10.50.0.50");
}

TEST(MdnsBrowser, KeepsSeveralInstancesFromOnePacket) {
  MdnsBrowser b;
  Response r;
  for (int i = 0; i < 3; ++i) {
    const auto inst = instance("Room " + std::to_string(i), "_airplay._tcp.local");
    r.ptr("_airplay._tcp.local", inst).srv(inst, 7000, "tv" + std::to_string(i) + ".local");
    r.a("tv" + std::to_string(i) + ".local", {10, 0, 0, static_cast<uint8_t>(i + 1)});
  }
  b.ingest(r.m, "10.0.0.1");
  EXPECT_EQ(b.hosts().size(), 3u);
  EXPECT_EQ(b.instance_count(), 3u);
}

TEST(MdnsBrowser, GoodbyeRecordsRemoveInstancesAndAddresses) {
  MdnsBrowser b;
  const auto inst = instance("Old TV", "_airplay._tcp.local");
  b.ingest(Response()
               .ptr("_airplay._tcp.local", inst)
               .srv(inst, 7000, "old.local")
               .a("old.local", {10, 0, 0, 9})
               .m,
           "10.0.0.9");
  ASSERT_EQ(b.instance_count(), 1u);
  b.ingest(Response().ptr("_airplay._tcp.local", inst, /*ttl=*/0).m, "10.0.0.9");
  EXPECT_EQ(b.instance_count(), 0u);
  EXPECT_TRUE(b.hosts().empty());
}

TEST(MdnsBrowser, IgnoresQueriesAndUnrelatedPointers) {
  MdnsBrowser b;
  Response q;
  q.m.flags = 0;  // a query, not a response
  q.ptr("_ipp._tcp.local", instance("X", "_ipp._tcp.local"));
  b.ingest(q.m, "1.2.3.4");
  // A PTR whose target is not an instance of the type it is filed under.
  b.ingest(Response().ptr("_ipp._tcp.local", dns::Name::from_dotted("elsewhere.example")).m,
           "1.2.3.4");
  EXPECT_EQ(b.instance_count(), 0u);
}

TEST(MdnsBrowser, ReplaysARealChromecastAnswer) {
  MdnsBrowser b;
  for (const auto& p : testing::read_udp_payloads(kData + "/mdns/sming-192.168.1.103.mdns")) {
    auto m = dns::parse(p.payload);
    ASSERT_TRUE(m.ok());
    b.ingest(*m, "192.168.1.103");
  }
  const auto hosts = b.hosts();
  ASSERT_EQ(hosts.size(), 1u);
  ASSERT_FALSE(hosts[0].services.empty());
  EXPECT_EQ(hosts[0].services[0].type, "_googlecast._tcp");
  EXPECT_GT(hosts[0].services[0].port, 0);
  EXPECT_FALSE(hosts[0].services[0].txt.empty());
  EXPECT_EQ(hosts[0].address, "192.168.1.103");
}

TEST(MdnsBrowser, ReplaysAHomeNetworkCaptureWithGoodbyesAndIpv6) {
  MdnsBrowser b;
  size_t packets = 0;
  for (const auto& p : testing::read_udp_payloads(kData + "/mdns/ndpi-telegram-mdns-only.pcap")) {
    auto m = dns::parse(p.payload);
    ASSERT_TRUE(m.ok());
    b.ingest(*m, p.source);
    ++packets;
  }
  EXPECT_EQ(packets, 282u);
  // The capture holds a Sonos speaker, an iPad and an iMac announcing themselves, with
  // goodbyes, IPv6 records, NSEC and OPT records mixed in.
  const auto hosts = b.hosts();
  EXPECT_EQ(b.type_count(), 3u);
  ASSERT_EQ(hosts.size(), 3u);
  std::map<std::string, const MdnsHost*> by_addr;
  for (const auto& h : hosts) {
    by_addr[h.address] = &h;
  }
  ASSERT_TRUE(by_addr.count("192.168.1.69"));
  EXPECT_EQ(by_addr["192.168.1.69"]->services.at(0).type, "_spotify-connect._tcp");
  EXPECT_EQ(by_addr["192.168.1.69"]->services.at(0).port, 1400);
  ASSERT_TRUE(by_addr.count("192.168.1.77"));
  EXPECT_EQ(by_addr["192.168.1.77"]->hostname, "Lucas-iMac.local");
  bool companion = false;
  for (const auto& s : by_addr["192.168.1.77"]->services) {
    // The instance label is UTF-8 with a curly apostrophe, kept byte for byte.
    companion |= s.type == "_companion-link._tcp" && s.instance == "Luca\xe2\x80\x99s iMac";
  }
  EXPECT_TRUE(companion);
}

}  // namespace
}  // namespace schoolnet::discovery
