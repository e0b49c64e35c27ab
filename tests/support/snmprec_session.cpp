#include "support/snmprec_session.hpp"

#include <fstream>

namespace schoolnet::testing {

using discovery::Oid;
using discovery::VarBind;
using discovery::VarType;

namespace {

bool unhex(const std::string& text, std::string& out) {
  if (text.size() % 2 != 0) {
    return false;
  }
  out.clear();
  for (size_t i = 0; i < text.size(); i += 2) {
    const std::string byte = text.substr(i, 2);
    char* end = nullptr;
    const long v = std::strtol(byte.c_str(), &end, 16);
    if (*end != '\0') {
      return false;
    }
    out += static_cast<char>(v);
  }
  return true;
}

// snmpsim's "e" encoding: Python-style escapes (\n, \t, \r, \\, \', \", \xNN).
bool unescape(const std::string& text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i >= text.size()) {
      return false;
    }
    switch (text[i]) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
      case '\'':
      case '"':
        out += text[i];
        break;
      case 'x': {
        std::string raw;
        if (i + 2 >= text.size() || !unhex(text.substr(i + 1, 2), raw)) {
          return false;
        }
        out += raw;
        i += 2;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

SnmprecSession::SnmprecSession(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find('|');
    const size_t b = a == std::string::npos ? a : line.find('|', a + 1);
    if (b == std::string::npos) {
      continue;
    }
    VarBind v;
    v.oid = discovery::parse_oid(line.substr(0, a));
    if (v.oid.empty()) {
      continue;
    }
    std::string tag = line.substr(a + 1, b - a - 1);
    tag = tag.substr(0, tag.find(':'));
    std::string value = line.substr(b + 1);
    const bool hex = !tag.empty() && tag.back() == 'x';
    const bool escaped = !tag.empty() && tag.back() == 'e';
    if (hex) {
      tag.pop_back();
      std::string raw;
      if (!unhex(value, raw)) {
        continue;
      }
      value = raw;
    } else if (escaped) {
      tag.pop_back();
      std::string raw;
      if (!unescape(value, raw)) {
        continue;
      }
      value = raw;
    }
    const long long number = std::strtoll(value.c_str(), nullptr, 10);
    if (tag == "2") {
      v.type = VarType::integer;
      v.integer = number;
    } else if (tag == "4") {
      v.type = VarType::octets;
      v.bytes = value;
    } else if (tag == "5") {
      v.type = VarType::null;
    } else if (tag == "6") {
      v.type = VarType::oid;
      v.oid_value = discovery::parse_oid(value);
    } else if (tag == "64") {
      v.type = VarType::ip_address;
      v.bytes = value;
    } else if (tag == "65" || tag == "66" || tag == "67" || tag == "70") {
      v.type = tag == "65"   ? VarType::counter32
               : tag == "66" ? VarType::gauge32
               : tag == "67" ? VarType::timeticks
                             : VarType::counter64;
      v.unsigned_value = std::strtoull(value.c_str(), nullptr, 10);
      v.integer = static_cast<int64_t>(v.unsigned_value);
    } else {
      continue;
    }
    rows_.push_back(std::move(v));
  }
}

VarBind SnmprecSession::next_after(const Oid& oid) const {
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].oid == oid) {
      if (i + 1 < rows_.size()) {
        return rows_[i + 1];
      }
      break;
    }
  }
  for (const VarBind& v : rows_) {
    if (discovery::oid_compare(v.oid, oid) > 0) {
      return v;
    }
  }
  VarBind end;
  end.oid = oid;
  end.type = VarType::end_of_mib_view;
  return end;
}

Result<std::vector<VarBind>> SnmprecSession::get(const std::vector<Oid>& oids) {
  ++requests_;
  std::vector<VarBind> out;
  for (const Oid& o : oids) {
    VarBind v;
    v.oid = o;
    v.type = VarType::no_such_object;
    for (const VarBind& r : rows_) {
      if (r.oid == o) {
        v = r;
        break;
      }
    }
    out.push_back(v);
  }
  return out;
}

Result<std::vector<VarBind>> SnmprecSession::get_next(const std::vector<Oid>& oids) {
  ++requests_;
  std::vector<VarBind> out;
  for (const Oid& o : oids) {
    out.push_back(next_after(o));
  }
  return out;
}

Result<std::vector<VarBind>> SnmprecSession::get_bulk(const Oid& oid, int max_repetitions) {
  ++requests_;
  std::vector<VarBind> out;
  Oid cur = oid;
  for (int i = 0; i < max_repetitions; ++i) {
    VarBind v = next_after(cur);
    out.push_back(v);
    if (v.type == VarType::end_of_mib_view) {
      break;
    }
    cur = v.oid;
  }
  return out;
}

}  // namespace schoolnet::testing
