// The device model: merges what every source saw into one device per identity (MAC when
// known, else address), classifies it, applies the privacy rules, and compares the result
// with the stored inventory to produce change events.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "discovery/classify.hpp"
#include "discovery/mdns.hpp"
#include "discovery/netinfo.hpp"
#include "discovery/oui.hpp"
#include "discovery/snmp_device.hpp"
#include "discovery/snmp_tables.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::discovery {

struct Observations {
  std::vector<SnmpSystem> snmp;                  // answered, or configured explicitly
  std::map<std::string, DeviceDetails> details;  // address -> the tables read from it
  std::set<std::string> explicit_targets;        // single addresses the configuration names
  std::vector<MdnsHost> mdns;
  std::vector<Neighbour> neighbours;
  std::string gateway;
  // Address ranges the school uses beyond the private ones (inclusive, host order): the
  // configured snmp_targets. ARP entries elsewhere are someone else's network.
  std::vector<std::pair<uint32_t, uint32_t>> school_ranges;
};

struct MergeOptions {
  const Classifier* classifier = nullptr;
  OuiRegistry* oui = nullptr;
  std::string pseudonym_key;  // per-school secret; never leaves the box
  int64_t now_ms = 0;
};

struct MergeResult {
  std::vector<v1::DeviceSnapshot> devices;
  std::vector<v1::TopologyLink> links;  // LLDP neighbours and forwarding-table placements
};

// One snapshot per device. End-user and unidentified devices come out pseudonymised: a keyed
// hash as identity, no MAC, no addresses, no host or instance names; links never name a MAC
// that is not an inventoried device.
MergeResult merge(const Observations& obs, const MergeOptions& options);

// "anon:" + the first 16 hex digits of HMAC-SHA-256(key, value).
std::string pseudonym(const std::string& key, const std::string& value);

struct PreviousDevice {
  v1::DeviceSnapshot snapshot;
  int64_t first_seen_ms = 0;
  int64_t missed_passes = 0;
};

struct InventoryUpdate {
  std::vector<v1::DeviceChange> changes;
  std::vector<v1::DeviceSnapshot> current;  // every known device, with first/last seen
  std::vector<int64_t> missed;              // per `current` entry
  std::vector<std::string> removed;         // device ids reported gone and dropped
  std::vector<v1::DeviceSnapshot> to_send;  // new or changed since last sent (or all)
};

// Compares this pass with the stored inventory. Devices not seen stay for `gone_after`
// passes, then are reported gone and dropped. `send_all` resends every snapshot (at start and
// once a day).
InventoryUpdate update_inventory(const std::vector<PreviousDevice>& previous,
                                 const std::vector<v1::DeviceSnapshot>& seen, int64_t now_ms,
                                 int64_t gone_after, bool send_all);

}  // namespace schoolnet::discovery
