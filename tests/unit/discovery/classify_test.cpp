#include "discovery/classify.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace schoolnet::discovery {
namespace {

DeviceFacts snmp(const std::string& oid, const std::string& descr = "") {
  DeviceFacts f;
  f.sys_object_id = oid;
  f.sys_descr = descr;
  return f;
}

v1::DeviceClass cls(const DeviceFacts& f) {
  return Classifier::builtin().classify(f).device_class;
}

TEST(Classify, TheShippedRulesFileParsesAndIsTheBuiltIn) {
  std::ifstream in(SCHOOLNET_CLASSIFY_RULES);
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = Classifier::parse(ss.str(), "classify.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->rule_count(), Classifier::builtin().rule_count());
  EXPECT_GT(c->rule_count(), 5u);
}

// The sysObjectID and sysDescr of each recording in tests/data/snmprec, by the class of kit
// the recording was taken from.
TEST(Classify, RecognisesTheRecordedDevices) {
  struct Case {
    const char* file;
    const char* oid;
    const char* descr;
    v1::DeviceClass expected;
  };
  const Case cases[] = {
      {"procurve_2520", "1.3.6.1.4.1.11.2.3.7.8.5.2", "HP Stack, revision KA.15.03",
       v1::DEVICE_CLASS_SWITCH},
      {"tplink_sg2008", "1.3.6.1.4.1.11863.1.1.25", "8-Port Gigabit Smart Switch",
       v1::DEVICE_CLASS_SWITCH},
      {"dlink", "1.3.6.1.4.1.171.10.137.2.1", "DGS-1510-28 Gigabit Ethernet SmartPro Switch",
       v1::DEVICE_CLASS_SWITCH},
      {"netgear", "1.3.6.1.4.1.4526.100.4.32", "GS724Tv4 ProSafe", v1::DEVICE_CLASS_SWITCH},
      {"ios_2960x", "1.3.6.1.4.1.9.1.1208", "Cisco IOS Software, C2960X", v1::DEVICE_CLASS_SWITCH},
      {"ftos", "1.3.6.1.4.1.6027.1.3.4", "Force10 Networks", v1::DEVICE_CLASS_SWITCH},
      {"unifi_nanohd", "1.3.6.1.4.1.8072.3.2.10", "UAP-nanoHD 5.43.36.12724",
       v1::DEVICE_CLASS_ACCESS_POINT},
      {"aruba-instant", "1.3.6.1.4.1.14823.1.2.59", "ArubaOS (MODEL: 225)",
       v1::DEVICE_CLASS_ACCESS_POINT},
      {"cbw240ac", "1.3.6.1.4.1.9.6.1.37.240.1", "Cisco Business Wireless",
       v1::DEVICE_CLASS_ACCESS_POINT},
      {"brother", "1.3.6.1.4.1.2435.2.3.9.1", "Brother NC-6800h", v1::DEVICE_CLASS_PRINTER},
      {"canon", "1.3.6.1.4.1.1602.4.2", "Canon LBP6670 /P", v1::DEVICE_CLASS_PRINTER},
      {"sharp", "1.3.6.1.4.1.2385.3.1.111.1.26", "SHARP MX-M266NV", v1::DEVICE_CLASS_PRINTER},
      {"utax", "1.3.6.1.4.1.1347.41", "TA_UTAX Printing System", v1::DEVICE_CLASS_PRINTER},
      {"epson", "1.3.6.1.4.1.1248.1.1.2.1.3.5.69.69.80.83.50", "EPSON Built-in",
       v1::DEVICE_CLASS_PRINTER},
      {"jetdirect", "1.3.6.1.4.1.11.2.3.9.1", "HP ETHERNET MULTI-ENVIRONMENT",
       v1::DEVICE_CLASS_PRINTER},
      {"apc", "1.3.6.1.4.1.318.1.3.27", "APC Web/SNMP Management Card", v1::DEVICE_CLASS_UPS},
      {"delta", "1.3.6.1.4.1.2254.2.4", "UPS SNMP Agent", v1::DEVICE_CLASS_UPS},
      {"powerwalker", "1.3.6.1.4.1.3808.1.1.1", "Power Management Card", v1::DEVICE_CLASS_UPS},
      {"tripplite", "1.3.6.1.4.1.850.1.1.1", "Ubuntu 16.04.4 LTS", v1::DEVICE_CLASS_UPS},
      {"eaton", "1.3.6.1.4.1.705.1", "", v1::DEVICE_CLASS_UPS},
      {"fortigate", "1.3.6.1.4.1.12356.101.1.644", "", v1::DEVICE_CLASS_ROUTER},
      {"routeros", "1.3.6.1.4.1.14988.1", "RouterOS RB760iGS", v1::DEVICE_CLASS_ROUTER},
      {"edgeos", "1.3.6.1.4.1.41112.1.5", "EdgeOS v1.8.0", v1::DEVICE_CLASS_ROUTER},
      {"windows", "1.3.6.1.4.1.311.1.1.3.1.2", "Hardware: Intel64", v1::DEVICE_CLASS_SERVER},
      {"raspberrypi", "1.3.6.1.4.1.8072.3.2.10", "Linux mso 4.19.97+ armv6l",
       v1::DEVICE_CLASS_SERVER},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(class_name(cls(snmp(c.oid, c.descr))), std::string(class_name(c.expected))) << c.file;
  }
}

TEST(Classify, UsesMibPresenceForDevicesWithGenericIdentities) {
  DeviceFacts synology = snmp("1.3.6.1.4.1.8072.3.2.10", "Linux hostname 3.10.77");
  synology.oids_present = {"1.3.6.1.4.1.6574.1.1.0"};
  EXPECT_EQ(cls(synology), v1::DEVICE_CLASS_SERVER);
  DeviceFacts ups = snmp("1.3.6.1.4.1.99999.1");
  ups.oids_present = {"1.3.6.1.2.1.33.1.1.1.0"};
  EXPECT_EQ(cls(ups), v1::DEVICE_CLASS_UPS);
}

TEST(Classify, UsesMdnsServicesAndTxt) {
  DeviceFacts printer;
  printer.mdns_types = {"_ipp._tcp", "_printer._tcp"};
  EXPECT_EQ(cls(printer), v1::DEVICE_CLASS_PRINTER);
  DeviceFacts cast;
  cast.mdns_types = {"_googlecast._tcp"};
  EXPECT_EQ(cls(cast), v1::DEVICE_CLASS_DISPLAY);
  DeviceFacts laptop;
  laptop.mdns_types = {"_companion-link._tcp", "_airplay._tcp"};
  EXPECT_EQ(cls(laptop), v1::DEVICE_CLASS_END_USER);
  DeviceFacts appletv;
  appletv.mdns_types = {"_companion-link._tcp", "_airplay._tcp"};
  appletv.txt = {"model=AppleTV11,1"};
  EXPECT_EQ(cls(appletv), v1::DEVICE_CLASS_DISPLAY);
}

TEST(Classify, PrefixesMatchWholeArcsOnly) {
  EXPECT_EQ(cls(snmp("1.3.6.1.4.1.9.12.3")), v1::DEVICE_CLASS_UNKNOWN);
  EXPECT_EQ(cls(snmp("1.3.6.1.4.1.9.1.3")), v1::DEVICE_CLASS_SWITCH);
}

TEST(Classify, UnknownWhenNothingMatchesAndSaysWhyWhenSomethingDoes) {
  EXPECT_EQ(cls(DeviceFacts{}), v1::DEVICE_CLASS_UNKNOWN);
  auto c = Classifier::builtin().classify(snmp("1.3.6.1.4.1.318.1.3.27"));
  EXPECT_NE(c.evidence.find("1.3.6.1.4.1.318.1.3"), std::string::npos);
}

TEST(Classify, BadRulesNameTheLine) {
  auto c = Classifier::parse("[[rule]]\nclass = \"toaster\"\n", "r.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("r.toml:2: rule[0].class"), std::string::npos)
      << c.error().message;
  auto d = Classifier::parse("[[rule]]\nclass = \"ups\"\ncolour = [\"x\"]\n", "r.toml");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("r.toml:3: rule[0].colour: unknown key"), std::string::npos);
}

}  // namespace
}  // namespace schoolnet::discovery
