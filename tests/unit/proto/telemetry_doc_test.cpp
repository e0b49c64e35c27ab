// docs/telemetry.md is the field-by-field reference of proto/schoolnet/v1/telemetry.proto. These
// tests walk the contract through protobuf's descriptors, so a field added to the .proto without a
// line in the reference fails the build's unit tests instead of going undocumented.
//
// The convention they check: every message and enum has a Markdown heading that names it in
// backticks (`### \`Batch\``), and inside that section (up to the next heading of the same or a
// higher level) every field or enum value is named in backticks. Nested enums may be documented
// in their own heading or inside the section of the message that holds them.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::v1 {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FileDescriptor;

std::string read_doc() {
  std::ifstream in(SCHOOLNET_TELEMETRY_DOC, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Section {
  int level = 0;
  std::string heading;
  std::string body;
};

// Splits the document at its ATX headings; code blocks are not special-cased because the
// reference keeps its headings out of them.
std::vector<Section> sections(const std::string& doc) {
  std::vector<Section> out;
  std::istringstream in(doc);
  std::string line;
  while (std::getline(in, line)) {
    size_t hashes = 0;
    while (hashes < line.size() && line[hashes] == '#') {
      ++hashes;
    }
    if (hashes > 0 && hashes < line.size() && line[hashes] == ' ') {
      out.push_back({static_cast<int>(hashes), line, {}});
      continue;
    }
    if (!out.empty()) {
      out.back().body += line + "\n";
    }
  }
  return out;
}

std::string ticked(const std::string& name) {
  return "`" + name + "`";
}

// The section named for `name` with its subsections (everything up to the next heading of the
// same or a higher level); empty when there is no such heading.
std::string section_text(const std::vector<Section>& all, const std::string& name) {
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].heading.find(ticked(name)) == std::string::npos) {
      continue;
    }
    std::string text = all[i].body;
    for (size_t j = i + 1; j < all.size() && all[j].level > all[i].level; ++j) {
      text += all[j].heading + "\n" + all[j].body;
    }
    return text;
  }
  return {};
}

bool is_map_entry(const Descriptor* d) {
  return d->options().map_entry();
}

void check_enum(const std::vector<Section>& all, const EnumDescriptor* e,
                const std::string& fallback_section, std::vector<std::string>& missing) {
  std::string text = section_text(all, e->name());
  if (text.empty()) {
    text = fallback_section;
  }
  if (text.empty()) {
    missing.push_back("enum " + e->full_name() + " (no section names it)");
    return;
  }
  for (int i = 0; i < e->value_count(); ++i) {
    if (text.find(ticked(e->value(i)->name())) == std::string::npos) {
      missing.push_back("enum value " + e->full_name() + "." + e->value(i)->name());
    }
  }
}

void check_message(const std::vector<Section>& all, const Descriptor* m,
                   std::vector<std::string>& missing) {
  if (is_map_entry(m)) {
    return;  // synthetic key/value type of a map field; the map field itself is documented
  }
  const std::string text = section_text(all, m->name());
  if (text.empty()) {
    missing.push_back("message " + m->full_name() + " (no heading names it)");
    return;
  }
  for (int i = 0; i < m->field_count(); ++i) {
    if (text.find(ticked(m->field(i)->name())) == std::string::npos) {
      missing.push_back("field " + m->full_name() + "." + m->field(i)->name());
    }
  }
  // Only real oneofs: proto3 `optional` fields each come with a synthetic one named "_field".
  for (int i = 0; i < m->real_oneof_decl_count(); ++i) {
    if (text.find(ticked(m->oneof_decl(i)->name())) == std::string::npos) {
      missing.push_back("oneof " + m->full_name() + "." + m->oneof_decl(i)->name());
    }
  }
  for (int i = 0; i < m->nested_type_count(); ++i) {
    check_message(all, m->nested_type(i), missing);
  }
  for (int i = 0; i < m->enum_type_count(); ++i) {
    check_enum(all, m->enum_type(i), text, missing);
  }
}

std::string listed(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    out += "\n  " + i;
  }
  return out;
}

TEST(TelemetryDoc, ExistsAndHasSections) {
  const std::string doc = read_doc();
  ASSERT_FALSE(doc.empty()) << SCHOOLNET_TELEMETRY_DOC << " is missing or empty";
  EXPECT_GT(sections(doc).size(), 10u);
}

TEST(TelemetryDoc, NamesEveryMessageFieldAndEnumValue) {
  const std::vector<Section> all = sections(read_doc());
  const FileDescriptor* file = Batch::descriptor()->file();
  ASSERT_EQ(file->package(), "schoolnet.v1");
  std::vector<std::string> missing;
  for (int i = 0; i < file->message_type_count(); ++i) {
    check_message(all, file->message_type(i), missing);
  }
  for (int i = 0; i < file->enum_type_count(); ++i) {
    check_enum(all, file->enum_type(i), {}, missing);
  }
  EXPECT_TRUE(missing.empty()) << "docs/telemetry.md does not document:" << listed(missing)
                               << "\nAdd each one, in backticks, to the section of its message.";
}

// The checker itself, on documents built from the descriptors so that these tests do not need
// editing when the contract grows: a field absent from its message's section is reported even
// when another section names it, and subsections count as part of their message.
std::string names_of(const Descriptor* m, int skip_field) {
  std::string out;
  for (int i = 0; i < m->field_count(); ++i) {
    if (i != skip_field) {
      out += ticked(m->field(i)->name()) + " ";
    }
  }
  return out + "\n";
}

TEST(TelemetryDoc, CheckerReportsAFieldDocumentedOnlyElsewhere) {
  const Descriptor* m = TlsInfo::descriptor();
  const int last = m->field_count() - 1;
  const std::string doc = "# Ref\n### `TlsInfo`\n" + names_of(m, last) + "### `ProbeTimings`\n" +
                          ticked(m->field(last)->name()) + "\n";
  std::vector<std::string> missing;
  check_message(sections(doc), m, missing);
  ASSERT_EQ(missing.size(), 1u) << listed(missing);
  EXPECT_EQ(missing[0], "field " + m->field(last)->full_name());
}

TEST(TelemetryDoc, CheckerReadsSubsectionsAsPartOfTheirMessage) {
  const Descriptor* m = DeviceChange::descriptor();
  ASSERT_EQ(m->enum_type_count(), 1);
  std::string values;
  for (int i = 0; i < m->enum_type(0)->value_count(); ++i) {
    values += ticked(m->enum_type(0)->value(i)->name()) + " ";
  }
  const std::string doc =
      "## `DeviceChange`\n" + names_of(m, -1) + "### Kinds\n" + values + "\n## `Outage`\n";
  std::vector<std::string> missing;
  check_message(sections(doc), m, missing);
  EXPECT_TRUE(missing.empty()) << listed(missing);

  const std::string cut = "## `DeviceChange`\n" + names_of(m, -1) + "## Kinds\n" + values;
  missing.clear();
  check_message(sections(cut), m, missing);
  EXPECT_EQ(missing.size(), static_cast<size_t>(m->enum_type(0)->value_count()))
      << "a heading of the same level ends the message's section";
}

}  // namespace
}  // namespace schoolnet::v1
