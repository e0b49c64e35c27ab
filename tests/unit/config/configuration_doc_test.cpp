// The configuration references in the docs are generated from the settings tables
// (`schoolnet-agent config reference`, `schoolnet-central config reference`) and pasted between
// marker comments by scripts/gen-docs. These tests fail when a table changed and the docs were
// not regenerated, so the published reference always matches what the parsers accept.
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "central/config/config.hpp"
#include "config/agent_config.hpp"
#include "core/settings.hpp"

namespace schoolnet::config {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The lines strictly between the line that starts with `begin` and the next line that starts
// with `end`; nullopt when either marker is missing. scripts/gen-docs uses the same markers.
std::optional<std::string> generated_part(const std::string& doc, const std::string& begin,
                                          const std::string& end) {
  const size_t b = doc.find("\n" + begin);
  if (b == std::string::npos) {
    return std::nullopt;
  }
  const size_t start = doc.find('\n', b + 1);
  if (start == std::string::npos) {
    return std::nullopt;
  }
  const size_t e = doc.find("\n" + end, start);
  if (e == std::string::npos) {
    return std::nullopt;
  }
  return doc.substr(start + 1, e + 1 - (start + 1));
}

constexpr const char* kRegenerate = "run scripts/gen-docs to regenerate it";

TEST(ConfigurationDoc, AgentReferenceMatchesTheSettingsTable) {
  const std::string doc = read_file(SCHOOLNET_AGENT_CONFIG_DOC);
  ASSERT_FALSE(doc.empty()) << SCHOOLNET_AGENT_CONFIG_DOC << " is missing or empty";
  const auto part = generated_part(doc, "<!-- BEGIN GENERATED: schoolnet-agent config reference",
                                   "<!-- END GENERATED: schoolnet-agent config reference");
  ASSERT_TRUE(part.has_value()) << "the marker comments are missing from docs/configuration.md";
  EXPECT_EQ(*part, settings::reference_markdown(agent_settings()))
      << "docs/configuration.md is out of date; " << kRegenerate;
}

TEST(ConfigurationDoc, CentralReferenceMatchesTheSettingsTable) {
  const std::string doc = read_file(SCHOOLNET_CENTRAL_CONFIG_DOC);
  ASSERT_FALSE(doc.empty()) << SCHOOLNET_CENTRAL_CONFIG_DOC << " is missing or empty";
  const auto part = generated_part(doc, "<!-- BEGIN GENERATED: schoolnet-central config reference",
                                   "<!-- END GENERATED: schoolnet-central config reference");
  ASSERT_TRUE(part.has_value()) << "the marker comments are missing from docs/central.md";
  EXPECT_EQ(*part, settings::reference_markdown(central::config_spec()))
      << "docs/central.md is out of date; " << kRegenerate;
}

TEST(ConfigurationDoc, MarkersAreFoundOnlyAtTheStartOfALine) {
  const std::string doc = "a\n<!-- B x -->\n| t |\n<!-- E x -->\nz\n";
  EXPECT_EQ(generated_part(doc, "<!-- B", "<!-- E"), std::optional<std::string>("| t |\n"));
  EXPECT_EQ(generated_part("a <!-- B -->\n<!-- E -->\n", "<!-- B", "<!-- E"), std::nullopt);
  EXPECT_EQ(generated_part("a\n<!-- B -->\nno end\n", "<!-- B", "<!-- E"), std::nullopt);
  EXPECT_EQ(generated_part("a\n<!-- B -->\n<!-- E -->\n", "<!-- B", "<!-- E"),
            std::optional<std::string>(""));
}

}  // namespace
}  // namespace schoolnet::config
