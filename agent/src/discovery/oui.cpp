#include "discovery/oui.hpp"

#include <fstream>

#include "core/text.hpp"

namespace schoolnet::discovery {

namespace {

std::string upper_hex(const std::string& mac) {
  std::string h = to_hex(mac);
  for (char& c : h) {
    if (c >= 'a' && c <= 'f') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return h;
}

}  // namespace

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(std::move(cur));
  return out;
}

std::map<std::string, std::string> OuiRegistry::lookup(const std::set<std::string>& macs) {
  std::map<std::string, std::string> out;
  // Prefixes still wanted: 9, 7 and 6 hex digits (MA-S, MA-M, MA-L), longest first.
  std::set<std::string> wanted;
  for (const std::string& mac : macs) {
    if (mac.size() != 6) {
      continue;
    }
    if (static_cast<unsigned char>(mac[0]) & 0x02) {
      out[mac] = "(locally administered)";
      continue;
    }
    const std::string hex = upper_hex(mac);
    for (size_t len : {9, 7, 6}) {
      if (!cache_.count(hex.substr(0, len))) {
        wanted.insert(hex.substr(0, len));
      }
    }
  }
  if (!wanted.empty()) {
    for (const char* file : {"oui36.csv", "mam.csv", "oui.csv"}) {
      std::ifstream in(dir_ + "/" + file);
      std::string line;
      while (std::getline(in, line)) {
        const size_t c1 = line.find(',');
        const size_t c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
        if (c2 == std::string::npos) {
          continue;
        }
        const std::string assignment = line.substr(c1 + 1, c2 - c1 - 1);
        if (!wanted.count(assignment)) {
          continue;
        }
        const auto fields = split_csv_line(line);
        if (fields.size() >= 3) {
          cache_[assignment] = std::string(trim(fields[2]));
        }
      }
    }
    // Remember misses too, so unregistered prefixes are not searched for again.
    for (const std::string& w : wanted) {
      cache_.emplace(w, std::string{});
    }
  }
  for (const std::string& mac : macs) {
    if (mac.size() != 6 || out.count(mac)) {
      continue;
    }
    const std::string hex = upper_hex(mac);
    for (size_t len : {9, 7, 6}) {
      auto it = cache_.find(hex.substr(0, len));
      if (it != cache_.end() && !it->second.empty() && it->second != "Private") {
        out[mac] = it->second;
        break;
      }
    }
  }
  return out;
}

}  // namespace schoolnet::discovery
