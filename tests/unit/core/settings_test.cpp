#include "core/settings.hpp"

#include <gtest/gtest.h>

namespace schoolnet::settings {
namespace {

const std::vector<Spec>& table() {
  static const std::vector<Spec> t = {
      {"name", Type::string, "", true, "A name."},
      {"net.timeout", Type::duration, "5s", false, "A timeout.", 100, 60'000},
      {"net.size", Type::size, "1MiB", false, "A size."},
      {"net.mode", Type::string, "fast", false, "A mode.", INT64_MIN, INT64_MAX, {"fast", "slow"}},
      {"item", Type::table_array, "", false, "Items."},
      {"item[].id", Type::integer, "", true, "An id.", 1, 10},
      {"item[].tags", Type::string_list, "", false, "Tags."},
  };
  return t;
}

TEST(Settings, AppliesDefaultsAndReadsValues) {
  Problems p;
  auto doc = parse("name = \"x\"\n[net]\ntimeout = \"250ms\"\n[[item]]\nid = 3\ntags = [\"a\"]\n",
                   "t.toml", table(), p);
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(p.empty()) << p.joined();
  EXPECT_EQ(doc->str("name"), "x");
  EXPECT_EQ(doc->num("net.timeout"), 250);
  EXPECT_EQ(doc->num("net.size"), 1 << 20);
  EXPECT_EQ(doc->str("net.mode"), "fast");
  EXPECT_EQ(doc->count("item"), 1u);
  EXPECT_EQ(doc->num("item[0].id"), 3);
  EXPECT_EQ(doc->list("item[0].tags"), std::vector<std::string>{"a"});
}

TEST(Settings, UnknownKeyNamesFileLineAndKeyWithAHint) {
  Problems p;
  auto doc = parse("name = \"x\"\n[net]\ntimout = \"1s\"\n", "agent.toml", table(), p);
  ASSERT_TRUE(doc.ok());
  ASSERT_FALSE(p.empty());
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0], "agent.toml:3: net.timout: unknown key (did you mean 'timeout'?)");
}

TEST(Settings, WrongTypeAndRangeAreErrorsNamingTheLine) {
  Problems p;
  auto doc = parse("name = 7\n[net]\ntimeout = \"2h\"\nmode = \"turbo\"\n[[item]]\nid = 11\n",
                   "a.toml", table(), p);
  ASSERT_TRUE(doc.ok());
  ASSERT_FALSE(p.empty());
  ASSERT_EQ(p.items.size(), 4u) << p.joined();
  EXPECT_EQ(p.items[0], "a.toml:1: name: expected a string, found an integer");
  EXPECT_NE(p.items[1].find("a.toml:3: net.timeout:"), std::string::npos);
  EXPECT_NE(p.items[2].find("a.toml:4: net.mode: 'turbo' is not one of: fast, slow"),
            std::string::npos);
  EXPECT_NE(p.items[3].find("a.toml:6: item[0].id: value 11 is outside 1..10"), std::string::npos);
}

TEST(Settings, MissingRequiredKeysAreReported) {
  Problems p;
  auto doc = parse("[[item]]\ntags = []\n", "a.toml", table(), p);
  ASSERT_TRUE(doc.ok());
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.joined(),
            "a.toml: name: required key is missing\n"
            "a.toml:2: item[0].id: required key is missing\n");
}

TEST(Settings, SyntaxErrorsNameLineAndColumn) {
  Problems p;
  auto doc = parse("name = \"x\"\n[net\n", "a.toml", table(), p);
  ASSERT_FALSE(doc.ok());
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].rfind("a.toml:2:", 0), 0u) << p.items[0];
}

TEST(Settings, DurationsAndSizesParse) {
  EXPECT_EQ(*parse_duration_ms("90s"), 90'000);
  EXPECT_EQ(*parse_duration_ms("5m"), 300'000);
  EXPECT_EQ(*parse_duration_ms("1d"), 86'400'000);
  EXPECT_FALSE(parse_duration_ms("5 minutes").ok());
  EXPECT_FALSE(parse_duration_ms("-1s").ok());
  EXPECT_EQ(*parse_size_bytes("64MiB"), 64 << 20);
  EXPECT_FALSE(parse_size_bytes("64 parsecs").ok());
}

TEST(Settings, ReferenceListsEveryKey) {
  const std::string md = reference_markdown(table());
  for (const Spec& s : table()) {
    EXPECT_NE(md.find("`" + std::string(s.key) + "`"), std::string::npos) << s.key;
  }
}

}  // namespace
}  // namespace schoolnet::settings
