// Vendor names from the IEEE registries (Debian's ieee-data: MA-L 24-bit, MA-M 28-bit and
// MA-S 36-bit assignments). Lookups are batched: one scan of the files finds the vendors of
// every MAC asked for, so the agent never holds the whole registry (about 3 MB) in memory.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace schoolnet::discovery {

class OuiRegistry {
 public:
  explicit OuiRegistry(std::string directory = "/usr/share/ieee-data")
      : dir_(std::move(directory)) {}

  // Vendor for each 6-byte MAC (raw bytes); MACs with no registration are absent.
  // Locally administered MACs (randomised by phones and laptops) get "(locally administered)".
  std::map<std::string, std::string> lookup(const std::set<std::string>& macs);

 private:
  std::string dir_;
  std::map<std::string, std::string> cache_;  // hex prefix -> vendor
};

// Parses one CSV line of the registry files into fields (quotes handled).
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace schoolnet::discovery
