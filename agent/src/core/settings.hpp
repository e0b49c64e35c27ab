// Declarative settings: one table per program declares every key with its type, default,
// limits and help. The same table drives parsing, validation (unknown keys and wrong types are
// errors naming file, line and key), `config check` and the generated configuration reference.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace schoolnet::settings {

enum class Type {
  string,
  secret,  // a string never printed in full
  integer,
  boolean,
  duration,     // integer seconds or a string "500ms", "30s", "5m", "2h", "1d"; kept in ms
  size,         // integer bytes or a string "64MiB", "512KiB", "1GiB"; kept in bytes
  string_list,  // array of strings
  table_array,  // [[name]]: only declares that the array exists
};

struct Spec {
  // Dotted path. Keys inside an array of tables use "name[]": "probe[].target".
  std::string_view key;
  Type type;
  // Textual default as a user would write it; empty with required=false means "unset".
  std::string_view default_value;
  bool required;
  std::string_view help;
  int64_t min = INT64_MIN;  // for integer, duration (ms) and size (bytes)
  int64_t max = INT64_MAX;
  // Allowed values for strings; empty means any.
  std::vector<std::string_view> choices = {};
};

struct Value {
  Type type = Type::string;
  std::string text;    // string, secret
  int64_t number = 0;  // integer, duration (ms), size (bytes)
  bool flag = false;
  std::vector<std::string> list;
  std::vector<int> item_lines;  // line of each list item
  int line = 0;
  bool from_default = false;
};

// The parsed document: values by concrete path ("central.url", "probe[2].target").
class Document {
 public:
  bool has(const std::string& path) const { return values_.count(path) != 0; }
  const Value* find(const std::string& path) const;
  std::string str(const std::string& path) const;
  int64_t num(const std::string& path) const;
  bool flag(const std::string& path) const;
  std::vector<std::string> list(const std::string& path) const;
  // Line of a value; "key[N]" names item N of a list.
  int line(const std::string& path) const;
  // Number of elements of an array of tables ("probe").
  size_t count(const std::string& array) const;
  const std::string& file() const { return file_; }

  std::map<std::string, Value>& values() { return values_; }
  const std::map<std::string, Value>& values() const { return values_; }
  void set_file(std::string f) { file_ = std::move(f); }
  void set_count(const std::string& array, size_t n) { counts_[array] = n; }
  // Keys whose values were wrong: left out, and not reported again as missing.
  void mark_failed(const std::string& path) { failed_.insert(path); }
  bool failed(const std::string& path) const { return failed_.count(path) != 0; }

 private:
  std::map<std::string, Value> values_;
  std::map<std::string, size_t> counts_;
  std::set<std::string> failed_;
  std::string file_;
};

// Every problem found, each formatted "FILE:LINE: KEY: what is wrong".
struct Problems {
  std::vector<std::string> items;
  bool empty() const { return items.empty(); }
  std::string joined() const;
  // Orders the problems by the line they name (those naming no line first), keeping the
  // order of problems on the same line.
  void sort_by_line();
};

// Parses TOML text against the spec table. Collects every problem rather than stopping at the
// first, so `config check` shows them all at once: the result is an error only when the text is
// not TOML at all; otherwise the caller checks `problems` (wrong values are left out of the
// document, so later checks may still run on the rest).
Result<Document> parse(std::string_view toml_text, std::string_view file_name,
                       std::span<const Spec> specs, Problems& problems);
Result<Document> parse_file(const std::string& path, std::span<const Spec> specs,
                            Problems& problems);

// Helpers shared with program-specific validation.
std::string problem(const Document& doc, int line, std::string_view key, std::string_view what);
Result<int64_t> parse_duration_ms(std::string_view text);
Result<int64_t> parse_size_bytes(std::string_view text);
std::string type_name(Type t);

// Markdown reference of the table (docs/configuration.md is generated from it).
std::string reference_markdown(std::span<const Spec> specs);

}  // namespace schoolnet::settings
