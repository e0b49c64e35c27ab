#include "config/agent_config.hpp"

#include <gtest/gtest.h>

namespace schoolnet::config {
namespace {

const char* kGood = R"(school_id = "100001"
agent_id = "box-1"
[central]
url = "https://central.example:8443/"
ca_file = "/dev/null"
token = "secret"
[store]
path = "/tmp/agent.db"
[discovery]
snmp_targets = ["10.0.0.2", "10.0.1.0/29"]
snmp_communities = ["public", "school-ro"]
mdns_interfaces = ["eth0"]
interval = "5m"
[[probe]]
name = "M365"
kind = "https"
target = "https://login.microsoftonline.com/"
interval = "1m"
[[probe]]
name = "DNS"
kind = "dns"
target = "login.microsoftonline.com"
resolver = "10.0.0.1"
[[probe]]
name = "Google TLS"
kind = "tls"
target = "accounts.google.com"
[[probe]]
name = "MIS"
kind = "tcp"
target = "cloudmis.bromcom.com:443"
)";

TEST(AgentConfig, ParsesAGoodFile) {
  settings::Problems p;
  auto c = parse(kGood, "agent.toml", p);
  ASSERT_TRUE(c.ok()) << p.joined();
  EXPECT_EQ(c->school_id, "100001");
  EXPECT_EQ(c->central.url, "https://central.example:8443");  // trailing slash dropped
  EXPECT_EQ(c->discovery.interval_ms, 300'000);
  ASSERT_EQ(c->discovery.snmp_targets.size(), 2u);
  EXPECT_EQ(c->discovery.snmp_targets[1].last - c->discovery.snmp_targets[1].first + 1, 6u);
  ASSERT_EQ(c->probes_list.size(), 4u);
  EXPECT_EQ(c->probes_list[0].host, "login.microsoftonline.com");
  EXPECT_EQ(c->probes_list[0].port, 443);
  EXPECT_EQ(c->probes_list[2].port, 443);  // tls defaults to 443
  EXPECT_EQ(c->probes_list[3].port, 443);
  EXPECT_EQ(c->probes_list[1].interval_ms, 120'000);  // default
  EXPECT_EQ(c->store.max_bytes, 64ll << 20);
}

TEST(AgentConfig, AnUnreadableFileIsAnErrorNamingLineAndKey) {
  // Files the agent needs later are checked when the config is read, so a typo shows at
  // `config check` rather than at the first upload.
  std::string text = kGood;
  text.replace(text.find("/dev/null"), 9, "/nonexistent/schoolnet-ca.pem");
  settings::Problems p;
  auto c = parse(text, "agent.toml", p);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("agent.toml:5: central.ca_file"), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("/nonexistent/schoolnet-ca.pem"), std::string::npos);
}

TEST(AgentConfig, InspectionCommandsReadAConfigWhoseFilesAreMissing) {
  // inventory and status only read the store: a missing CA must not hide what the box holds.
  std::string text = kGood;
  text.replace(text.find("/dev/null"), 9, "/nonexistent/schoolnet-ca.pem");
  settings::Problems p;
  auto c = parse(text, "agent.toml", p, FileChecks::off);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->central.ca_file, "/nonexistent/schoolnet-ca.pem");
}

TEST(AgentConfig, UnknownKeyIsAnErrorNamingLineAndKey) {
  settings::Problems p;
  std::string text = kGood;
  text += "colour = \"blue\"\n";
  auto c = parse(text, "agent.toml", p);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(p.joined().find("agent.toml:32: probe[3].colour: unknown key"), std::string::npos)
      << p.joined();
}

TEST(AgentConfig, BadValuesNameTheirKeys) {
  settings::Problems p;
  auto c = parse(R"(school_id = "1 0"
agent_id = "a"
[central]
url = "http://insecure.example"
token = ""
[discovery]
snmp_targets = ["10.0.0.0/8", "300.1.1.1"]
[[probe]]
name = "x"
kind = "tcp"
target = "host-without-port"
[[probe]]
name = "x"
kind = "ping"
target = "a"
)",
                 "bad.toml", p);
  ASSERT_FALSE(c.ok());
  const std::string again = p.joined();
  for (const char* expected :
       {"bad.toml:1: school_id:", "bad.toml:4: central.url: must start with https://",
        "bad.toml:5: central.token: must not be empty",
        "bad.toml:7: discovery.snmp_targets[0]: '10.0.0.0/8': prefix length must be 16..32",
        "discovery.snmp_targets[1]: '300.1.1.1' is not an IPv4 address",
        "bad.toml:11: probe[0].target: 'host-without-port' needs a port",
        "bad.toml:13: probe[1].name: 'x' is used by another probe",
        "bad.toml:14: probe[1].kind: 'ping' is not one of: dns, tcp, tls, https"}) {
    EXPECT_NE(again.find(expected), std::string::npos) << expected << "\n---\n" << again;
  }
}

TEST(AgentConfig, CidrTargetsSkipNetworkAndBroadcast) {
  auto t = parse_target("192.0.2.0/30");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->last - t->first + 1, 2u);
  auto one = parse_target("192.0.2.7");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->first, one->last);
}

TEST(AgentConfig, EveryKeyHasHelp) {
  for (const auto& s : agent_settings()) {
    EXPECT_FALSE(s.help.empty()) << s.key;
  }
}

}  // namespace
}  // namespace schoolnet::config
