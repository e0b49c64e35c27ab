#include <charconv>

#include "discovery/snmp.hpp"

namespace schoolnet::discovery {

Oid parse_oid(std::string_view dotted) {
  Oid out;
  if (!dotted.empty() && dotted.front() == '.') {
    dotted.remove_prefix(1);
  }
  while (!dotted.empty()) {
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(dotted.data(), dotted.data() + dotted.size(), v);
    if (ec != std::errc()) {
      return {};
    }
    out.push_back(v);
    dotted.remove_prefix(static_cast<size_t>(p - dotted.data()));
    if (!dotted.empty()) {
      if (dotted.front() != '.') {
        return {};
      }
      dotted.remove_prefix(1);
    }
  }
  return out;
}

std::string format_oid(const Oid& oid) {
  std::string out;
  for (size_t i = 0; i < oid.size(); ++i) {
    if (i > 0) {
      out += '.';
    }
    out += std::to_string(oid[i]);
  }
  return out;
}

bool oid_starts_with(const Oid& oid, const Oid& prefix) {
  return oid.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), oid.begin());
}

int oid_compare(const Oid& a, const Oid& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) {
      return a[i] < b[i] ? -1 : 1;
    }
  }
  if (a.size() == b.size()) {
    return 0;
  }
  return a.size() < b.size() ? -1 : 1;
}

std::string Credential::describe() const {
  switch (version) {
    case SnmpVersion::v1:
      return "v1 community";
    case SnmpVersion::v2c:
      return "v2c community";
    case SnmpVersion::v3:
      return "v3 user " + user;
  }
  return "?";
}

}  // namespace schoolnet::discovery
