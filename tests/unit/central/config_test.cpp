#include "central/config/config.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace schoolnet::central {
namespace {

constexpr const char* kGood = R"(# a central configuration
[server]
listen = "198.18.0.100:8443"
tls_cert = "/etc/schoolnet/central.pem"
tls_key = "/etc/schoolnet/central.key"
maintenance_file = "/run/schoolnet/maint"
threads = 4
max_body = "2MiB"
max_decompressed = "16MiB"
max_records = 5000
agent_rate = 5
[store]
path = "/var/lib/schoolnet/central.db"
retention = "30d"
[[api_token]]
token = "all-schools-token"
schools = ["*"]
[[api_token]]
token = "one-school-token"
schools = ["100001"]
[[agent]]
token = "agent-token-1"
school_id = "100001"
agent_id = "sim-100001-box"
[[agent]]
token = "agent-token-2"
school_id = "100002"
)";

bool has_problem(const settings::Problems& p, const std::string& text) {
  return std::any_of(p.items.begin(), p.items.end(),
                     [&](const std::string& s) { return s.find(text) != std::string::npos; });
}

TEST(CentralConfig, ParsesAGoodConfiguration) {
  settings::Problems p;
  auto cfg = load_config_text(kGood, "central.toml", p);
  ASSERT_TRUE(cfg.ok()) << p.joined();
  EXPECT_EQ(cfg->listen.host, "198.18.0.100");
  EXPECT_EQ(cfg->listen.port, 8443);
  EXPECT_EQ(cfg->threads, 4);
  EXPECT_EQ(cfg->max_body, 2 << 20);
  EXPECT_EQ(cfg->max_decompressed, 16 << 20);
  EXPECT_EQ(cfg->max_records, 5000);
  EXPECT_EQ(cfg->agent_rate, 5);
  EXPECT_EQ(cfg->maintenance_file, "/run/schoolnet/maint");
  EXPECT_EQ(cfg->retention_ms, 30LL * 86'400'000);
  ASSERT_EQ(cfg->api_tokens.size(), 2u);
  EXPECT_TRUE(cfg->api_tokens[0].all_schools);
  EXPECT_FALSE(cfg->api_tokens[1].all_schools);
  EXPECT_EQ(cfg->api_tokens[1].schools, std::vector<std::string>{"100001"});
  ASSERT_EQ(cfg->agents.size(), 2u);
  EXPECT_EQ(cfg->agents[0].agent_id, "sim-100001-box");
  EXPECT_EQ(cfg->agents[1].school_id, "100002");
  EXPECT_EQ(cfg->agents[1].agent_id, "");
}

TEST(CentralConfig, AppliesDefaultsForOptionalKeys) {
  settings::Problems p;
  auto cfg = load_config_text(
      "[server]\nlisten = \"[::1]:9443\"\ntls_cert = \"c\"\ntls_key = \"k\"\n[store]\npath = "
      "\"db\"\n",
      "min.toml", p);
  ASSERT_TRUE(cfg.ok()) << p.joined();
  EXPECT_EQ(cfg->listen.host, "::1");
  EXPECT_EQ(cfg->listen.port, 9443);
  EXPECT_EQ(cfg->threads, 2);
  EXPECT_EQ(cfg->max_body, 4 << 20);
  EXPECT_EQ(cfg->max_decompressed, 32 << 20);
  EXPECT_EQ(cfg->max_records, 20000);
  EXPECT_EQ(cfg->agent_rate, 20);
  EXPECT_EQ(cfg->retention_ms, 400LL * 86'400'000);
  EXPECT_TRUE(cfg->maintenance_file.empty());
  EXPECT_TRUE(cfg->agents.empty());
}

TEST(CentralConfig, UnknownKeyIsAnErrorNamingFileLineAndKey) {
  std::string text = kGood;
  text.replace(text.find("threads = 4"), 11, "thread = 4");
  settings::Problems p;
  auto cfg = load_config_text(text, "central.toml", p);
  EXPECT_FALSE(cfg.ok());
  EXPECT_TRUE(
      has_problem(p, "central.toml:7: server.thread: unknown key (did you mean 'threads'?)"))
      << p.joined();
}

TEST(CentralConfig, UnknownKeyInAnAgentTableNamesItsElement) {
  std::string text = kGood;
  text += "colour = \"blue\"\n";
  settings::Problems p;
  auto cfg = load_config_text(text, "central.toml", p);
  EXPECT_FALSE(cfg.ok());
  EXPECT_TRUE(has_problem(p, "central.toml:28: agent[1].colour: unknown key")) << p.joined();
}

TEST(CentralConfig, WrongTypeIsAnErrorNamingFileLineAndKey) {
  std::string text = kGood;
  text.replace(text.find("max_records = 5000"), 18, "max_records = \"many\"");
  settings::Problems p;
  auto cfg = load_config_text(text, "central.toml", p);
  EXPECT_FALSE(cfg.ok());
  EXPECT_TRUE(
      has_problem(p, "central.toml:10: server.max_records: expected an integer, found a string"))
      << p.joined();
}

TEST(CentralConfig, BadListenAddressIsAnErrorNamingTheLine) {
  std::string text = kGood;
  text.replace(text.find("198.18.0.100:8443"), 17, "school.example:8443");
  settings::Problems p;
  auto cfg = load_config_text(text, "central.toml", p);
  EXPECT_FALSE(cfg.ok());
  EXPECT_TRUE(has_problem(p, "central.toml:3: server.listen:")) << p.joined();
}

TEST(CentralConfig, MissingRequiredKeysAndDuplicateTokensAreErrors) {
  settings::Problems p;
  auto cfg = load_config_text(
      "[server]\nlisten = \"127.0.0.1:1\"\ntls_cert = \"c\"\ntls_key = \"k\"\n"
      "[store]\npath = \"db\"\n[[agent]]\ntoken = \"same\"\nschool_id = \"1\"\n"
      "[[agent]]\ntoken = \"same\"\nschool_id = \"a/b\"\n[[api_token]]\ntoken = \"t\"\n",
      "dup.toml", p);
  EXPECT_FALSE(cfg.ok());
  EXPECT_TRUE(has_problem(p, "dup.toml:11: agent[1].token: the same token appears more than once"))
      << p.joined();
  EXPECT_TRUE(has_problem(p, "dup.toml:12: agent[1].school_id: 'a/b' is not a valid school id"))
      << p.joined();
  EXPECT_TRUE(has_problem(p, "api_token[0].schools: required key is missing")) << p.joined();
}

TEST(CentralConfig, ListenAddressAcceptsIpv4AndBracketedIpv6Only) {
  EXPECT_TRUE(parse_listen_address("127.0.0.1:0").ok());
  EXPECT_TRUE(parse_listen_address("[2001:db8::1]:8443").ok());
  EXPECT_FALSE(parse_listen_address("2001:db8::1:8443").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:65536").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:x").ok());
  EXPECT_FALSE(parse_listen_address("[::1]8443").ok());
}

TEST(CentralConfig, ReferenceTableListsEveryKey) {
  const std::string md = settings::reference_markdown(config_spec());
  for (const settings::Spec& s : config_spec()) {
    EXPECT_NE(md.find("`" + std::string(s.key) + "`"), std::string::npos) << s.key;
  }
}

}  // namespace
}  // namespace schoolnet::central
