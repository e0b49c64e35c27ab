#include "core/settings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace schoolnet::settings {

namespace {

const Spec* find_spec(std::span<const Spec> specs, std::string_view key) {
  for (const Spec& s : specs) {
    if (s.key == key) {
      return &s;
    }
  }
  return nullptr;
}

bool is_table_prefix(std::span<const Spec> specs, std::string_view prefix) {
  for (const Spec& s : specs) {
    if (s.key.size() > prefix.size() && s.key.substr(0, prefix.size()) == prefix &&
        s.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

const char* toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date/time";
  }
}

// Closest spec key by edit distance, for "did you mean" hints on typos.
std::string suggestion(std::span<const Spec> specs, std::string_view spec_prefix,
                       std::string_view key) {
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
      prev[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = 3;
  for (const Spec& s : specs) {
    if (s.key.substr(0, spec_prefix.size()) != spec_prefix) {
      continue;
    }
    std::string_view rest = s.key.substr(spec_prefix.size());
    rest = rest.substr(0, rest.find('.'));
    rest = rest.substr(0, rest.find('['));
    const size_t d = distance(rest, key);
    if (d < best_d) {
      best_d = d;
      best = std::string(rest);
    }
  }
  return best;
}

class Walker {
 public:
  Walker(std::span<const Spec> specs, Document& doc, Problems& problems)
      : specs_(specs), doc_(doc), problems_(problems) {}

  void table(const toml::table& t, const std::string& spec_prefix,
             const std::string& concrete_prefix) {
    for (auto&& [k, v] : t) {
      const std::string name(k.str());
      const std::string spec_key = spec_prefix + name;
      const std::string concrete = concrete_prefix + name;
      const int line = static_cast<int>(k.source().begin.line);
      const Spec* spec = find_spec(specs_, spec_key);
      if (v.is_table() && !spec) {
        if (is_table_prefix(specs_, spec_key)) {
          table(*v.as_table(), spec_key + ".", concrete + ".");
        } else {
          unknown(line, concrete, spec_prefix, name, "table");
        }
        continue;
      }
      if (!spec) {
        unknown(line, concrete, spec_prefix, name, "key");
        continue;
      }
      if (spec->type == Type::table_array) {
        if (!v.is_array_of_tables()) {
          add(line, concrete,
              std::string("expected an array of tables ([[") + name + "]]), found " +
                  toml_type_name(v));
          continue;
        }
        const toml::array& arr = *v.as_array();
        doc_.set_count(concrete, arr.size());
        for (size_t i = 0; i < arr.size(); ++i) {
          table(*arr[i].as_table(), spec_key + "[].", concrete + "[" + std::to_string(i) + "].");
        }
        continue;
      }
      value(*spec, v, concrete, line);
    }
  }

 private:
  void unknown(int line, const std::string& concrete, const std::string& spec_prefix,
               const std::string& name, const char* what) {
    std::string msg = std::string("unknown ") + what;
    const std::string hint = suggestion(specs_, spec_prefix, name);
    if (!hint.empty()) {
      msg += " (did you mean '" + hint + "'?)";
    }
    add(line, concrete, msg);
  }

  void add(int line, const std::string& key, const std::string& what) {
    problems_.items.push_back(problem(doc_, line, key, what));
    doc_.mark_failed(key);
  }

  void value(const Spec& spec, const toml::node& v, const std::string& concrete, int line) {
    Value out;
    out.type = spec.type;
    out.line = static_cast<int>(v.source().begin.line ? v.source().begin.line : line);
    switch (spec.type) {
      case Type::string:
      case Type::secret: {
        if (!v.is_string()) {
          add(line, concrete, std::string("expected a string, found ") + toml_type_name(v));
          return;
        }
        out.text = v.as_string()->get();
        if (!spec.choices.empty() &&
            std::find(spec.choices.begin(), spec.choices.end(), out.text) == spec.choices.end()) {
          std::string allowed;
          for (auto c : spec.choices) {
            allowed += (allowed.empty() ? "" : ", ") + std::string(c);
          }
          add(line, concrete, "'" + out.text + "' is not one of: " + allowed);
          return;
        }
        break;
      }
      case Type::integer: {
        if (!v.is_integer()) {
          add(line, concrete, std::string("expected an integer, found ") + toml_type_name(v));
          return;
        }
        out.number = v.as_integer()->get();
        if (out.number < spec.min || out.number > spec.max) {
          add(line, concrete,
              "value " + std::to_string(out.number) + " is outside " + std::to_string(spec.min) +
                  ".." + std::to_string(spec.max));
          return;
        }
        break;
      }
      case Type::boolean:
        if (!v.is_boolean()) {
          add(line, concrete, std::string("expected true or false, found ") + toml_type_name(v));
          return;
        }
        out.flag = v.as_boolean()->get();
        break;
      case Type::duration:
      case Type::size: {
        const bool dur = spec.type == Type::duration;
        Result<int64_t> parsed = make_error("type");
        if (v.is_integer()) {
          const int64_t n = v.as_integer()->get();
          parsed = dur ? Result<int64_t>(n * 1000) : Result<int64_t>(n);
        } else if (v.is_string()) {
          parsed = dur ? parse_duration_ms(v.as_string()->get())
                       : parse_size_bytes(v.as_string()->get());
        } else {
          add(line, concrete,
              std::string(dur ? "expected a duration such as \"30s\" or \"5m\", found "
                              : "expected a size such as \"64MiB\", found ") +
                  toml_type_name(v));
          return;
        }
        if (!parsed) {
          add(line, concrete, parsed.error().message);
          return;
        }
        out.number = *parsed;
        if (out.number < spec.min || out.number > spec.max) {
          add(line, concrete,
              std::string(dur ? "duration" : "size") + " is outside the allowed range");
          return;
        }
        break;
      }
      case Type::string_list: {
        if (v.is_string()) {
          out.list.push_back(v.as_string()->get());  // a lone string is a one-item list
          out.item_lines.push_back(out.line);
          break;
        }
        if (!v.is_array()) {
          add(line, concrete,
              std::string("expected an array of strings, found ") + toml_type_name(v));
          return;
        }
        size_t i = 0;
        for (const toml::node& item : *v.as_array()) {
          if (!item.is_string()) {
            add(static_cast<int>(item.source().begin.line),
                concrete + "[" + std::to_string(i) + "]",
                std::string("expected a string, found ") + toml_type_name(item));
            return;
          }
          out.list.push_back(item.as_string()->get());
          out.item_lines.push_back(static_cast<int>(item.source().begin.line));
          ++i;
        }
        break;
      }
      case Type::table_array:
        break;
    }
    doc_.values()[concrete] = std::move(out);
  }

  std::span<const Spec> specs_;
  Document& doc_;
  Problems& problems_;
};

Value default_value(const Spec& spec, const Document& doc, Problems& problems) {
  Value v;
  v.type = spec.type;
  v.from_default = true;
  const std::string_view d = spec.default_value;
  switch (spec.type) {
    case Type::string:
    case Type::secret:
      v.text = std::string(d);
      break;
    case Type::integer:
      std::from_chars(d.data(), d.data() + d.size(), v.number);
      break;
    case Type::boolean:
      v.flag = d == "true";
      break;
    case Type::duration: {
      auto r = parse_duration_ms(d);
      if (!r) {
        problems.items.push_back(problem(doc, 0, spec.key, "bad built-in default"));
      } else {
        v.number = *r;
      }
      break;
    }
    case Type::size: {
      auto r = parse_size_bytes(d);
      if (!r) {
        problems.items.push_back(problem(doc, 0, spec.key, "bad built-in default"));
      } else {
        v.number = *r;
      }
      break;
    }
    case Type::string_list: {
      std::string_view rest = d;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        v.list.emplace_back(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
      break;
    }
    case Type::table_array:
      break;
  }
  return v;
}

void apply_defaults(std::span<const Spec> specs, Document& doc, Problems& problems) {
  for (const Spec& spec : specs) {
    if (spec.type == Type::table_array) {
      continue;
    }
    const std::string key(spec.key);
    const size_t bracket = key.find("[]");
    std::vector<std::string> concretes;
    if (bracket == std::string::npos) {
      concretes.push_back(key);
    } else {
      const std::string array = key.substr(0, bracket);
      const std::string tail = key.substr(bracket + 2);
      for (size_t i = 0; i < doc.count(array); ++i) {
        concretes.push_back(array + "[" + std::to_string(i) + "]" + tail);
      }
    }
    for (const std::string& c : concretes) {
      if (doc.has(c) || doc.failed(c)) {
        continue;  // present, or already reported as wrong
      }
      if (spec.required) {
        // Name the line of the element of an array of tables, where there is one.
        int line = 0;
        const size_t close = c.find("].");
        if (close != std::string::npos) {
          const std::string elem = c.substr(0, close + 1);
          for (const auto& [k, val] : doc.values()) {
            if (k.rfind(elem, 0) == 0 && (line == 0 || val.line < line)) {
              line = val.line;
            }
          }
        }
        problems.items.push_back(problem(doc, line, c, "required key is missing"));
        continue;
      }
      if (spec.default_value.empty() && spec.type != Type::boolean) {
        continue;  // unset
      }
      doc.values()[c] = default_value(spec, doc, problems);
    }
  }
}

}  // namespace

const Value* Document::find(const std::string& path) const {
  auto it = values_.find(path);
  return it == values_.end() ? nullptr : &it->second;
}
std::string Document::str(const std::string& path) const {
  const Value* v = find(path);
  return v ? v->text : std::string{};
}
int64_t Document::num(const std::string& path) const {
  const Value* v = find(path);
  return v ? v->number : 0;
}
bool Document::flag(const std::string& path) const {
  const Value* v = find(path);
  return v && v->flag;
}
std::vector<std::string> Document::list(const std::string& path) const {
  const Value* v = find(path);
  return v ? v->list : std::vector<std::string>{};
}
int Document::line(const std::string& path) const {
  if (const Value* v = find(path)) {
    return v->line;
  }
  const size_t open = path.rfind('[');
  if (open != std::string::npos && path.back() == ']') {
    if (const Value* list = find(path.substr(0, open))) {
      const size_t item = std::strtoul(path.c_str() + open + 1, nullptr, 10);
      return item < list->item_lines.size() ? list->item_lines[item] : list->line;
    }
  }
  return 0;
}
size_t Document::count(const std::string& array) const {
  auto it = counts_.find(array);
  return it == counts_.end() ? 0 : it->second;
}

std::string Problems::joined() const {
  std::string out;
  for (const std::string& p : items) {
    out += p;
    out += '\n';
  }
  return out;
}

void Problems::sort_by_line() {
  auto line_of = [](const std::string& p) {
    const size_t colon = p.find(':');
    if (colon == std::string::npos) {
      return 0L;
    }
    return std::strtol(p.c_str() + colon + 1, nullptr, 10);
  };
  std::stable_sort(items.begin(), items.end(), [&](const std::string& a, const std::string& b) {
    return line_of(a) < line_of(b);
  });
}

std::string problem(const Document& doc, int line, std::string_view key, std::string_view what) {
  std::string out = doc.file();
  if (line > 0) {
    out += ":" + std::to_string(line);
  }
  out += ": ";
  out += key;
  out += ": ";
  out += what;
  return out;
}

Result<int64_t> parse_duration_ms(std::string_view text) {
  text = std::string_view(text.data(), text.size());
  int64_t n = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || p == text.data() || n < 0) {
    return make_error(
        "bad_duration",
        "'" + std::string(text) +
            "' is not a duration (use e.g. \"500ms\", \"30s\", \"5m\", \"2h\", \"1d\")");
  }
  const std::string_view unit(p, static_cast<size_t>(end - p));
  int64_t mult = 0;
  if (unit == "ms") {
    mult = 1;
  } else if (unit == "s" || unit.empty()) {
    mult = 1000;
  } else if (unit == "m" || unit == "min") {
    mult = 60'000;
  } else if (unit == "h") {
    mult = 3'600'000;
  } else if (unit == "d") {
    mult = 86'400'000;
  } else {
    return make_error("bad_duration", "'" + std::string(text) + "' has an unknown unit '" +
                                          std::string(unit) + "' (use ms, s, m, h or d)");
  }
  if (n > INT64_MAX / mult) {
    return make_error("bad_duration", "'" + std::string(text) + "' is too long");
  }
  return n * mult;
}

Result<int64_t> parse_size_bytes(std::string_view text) {
  int64_t n = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || p == text.data() || n < 0) {
    return make_error("bad_size", "'" + std::string(text) +
                                      "' is not a size (use e.g. \"512KiB\", \"64MiB\", \"1GiB\")");
  }
  std::string unit(p, static_cast<size_t>(end - p));
  for (char& c : unit) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  int64_t mult = 0;
  if (unit.empty() || unit == "b") {
    mult = 1;
  } else if (unit == "kib" || unit == "k" || unit == "kb") {
    mult = int64_t{1} << 10;
  } else if (unit == "mib" || unit == "m" || unit == "mb") {
    mult = int64_t{1} << 20;
  } else if (unit == "gib" || unit == "g" || unit == "gb") {
    mult = int64_t{1} << 30;
  } else {
    return make_error("bad_size",
                      "'" + std::string(text) + "' has an unknown unit (use B, KiB, MiB or GiB)");
  }
  if (n > INT64_MAX / mult) {
    return make_error("bad_size", "'" + std::string(text) + "' is too large");
  }
  return n * mult;
}

std::string type_name(Type t) {
  switch (t) {
    case Type::string:
      return "string";
    case Type::secret:
      return "secret string";
    case Type::integer:
      return "integer";
    case Type::boolean:
      return "boolean";
    case Type::duration:
      return "duration";
    case Type::size:
      return "size";
    case Type::string_list:
      return "list of strings";
    case Type::table_array:
      return "array of tables";
  }
  return "?";
}

Result<Document> parse(std::string_view toml_text, std::string_view file_name,
                       std::span<const Spec> specs, Problems& problems) {
  Document doc;
  doc.set_file(std::string(file_name));
  toml::table root;
  try {
    root = toml::parse(toml_text, file_name);
  } catch (const toml::parse_error& e) {
    problems.items.push_back(doc.file() + ":" + std::to_string(e.source().begin.line) + ":" +
                             std::to_string(e.source().begin.column) +
                             ": TOML syntax error: " + std::string(e.description()));
    return make_error("config_syntax", problems.items.back());
  }
  Walker(specs, doc, problems).table(root, "", "");
  apply_defaults(specs, doc, problems);
  problems.sort_by_line();
  return doc;
}

Result<Document> parse_file(const std::string& path, std::span<const Spec> specs,
                            Problems& problems) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.items.push_back(path + ": cannot open the file");
    return make_error("config_unreadable", problems.items.back());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path, specs, problems);
}

std::string reference_markdown(std::span<const Spec> specs) {
  std::string out = "| key | type | default | help |\n| --- | --- | --- | --- |\n";
  for (const Spec& s : specs) {
    std::string def = s.required ? "**required**" : std::string(s.default_value);
    if (def.empty()) {
      def = "(unset)";
    } else if (!s.required) {
      def = "`" + def + "`";
    }
    std::string help(s.help);
    if (!s.choices.empty()) {
      help += " One of:";
      for (auto c : s.choices) {
        help += " `" + std::string(c) + "`";
      }
      help += '.';
    }
    out += "| `" + std::string(s.key) + "` | " + type_name(s.type) + " | " + def + " | " + help +
           " |\n";
  }
  return out;
}

}  // namespace schoolnet::settings
