// The MIB tables discovery reads beyond the system group, each column walked on its own so a
// broken column costs only itself: IF-MIB, ENTITY-MIB, LLDP-MIB, BRIDGE-MIB and Q-BRIDGE
// forwarding tables, ARP tables (ipNetToPhysical, ipNetToMedia), Printer-MIB, UPS-MIB (and
// APC's PowerNet equivalents) and HOST-RESOURCES. Values arrive as raw bytes and numbers;
// nothing here trusts a type, an index or a length.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "discovery/snmp.hpp"
#include "discovery/snmp_device.hpp"
#include "discovery/snmp_walk.hpp"

namespace schoolnet::discovery {

struct InterfaceRow {
  uint32_t index = 0;
  std::string name;   // ifName (raw)
  std::string descr;  // ifDescr (raw)
  std::string alias;  // ifAlias (raw)
  uint32_t type = 0;
  uint64_t speed_bps = 0;
  uint32_t admin_status = 0;
  uint32_t oper_status = 0;
  std::string mac;  // 6 raw bytes when present
  uint64_t in_octets = 0;
  uint64_t out_octets = 0;
  uint64_t in_errors = 0;
  uint64_t out_errors = 0;
  // Both octet counters from the 64-bit ifHC columns; otherwise both are the 32-bit ones,
  // which wrap every 4 GiB (34 s at 1 Gbit/s): never one of each.
  bool high_capacity = false;
  std::optional<uint64_t> hc_in_octets;  // as read, before the choice above
  std::optional<uint64_t> hc_out_octets;
};

struct EntityInfo {
  std::string model;
  std::string serial;
  std::string firmware;
  std::string hardware_revision;
  std::string manufacturer;
  std::string description;
};

struct LldpNeighbour {
  uint32_t local_port = 0;  // lldpRemLocalPortNum
  std::string local_port_name;
  int chassis_subtype = 0;
  std::string chassis_id;  // raw
  int port_subtype = 0;
  std::string port_id;  // raw
  std::string port_description;
  std::string sys_name;
};

struct FdbEntry {
  std::string mac;  // 6 raw bytes
  uint32_t bridge_port = 0;
  uint32_t if_index = 0;  // 0 when the bridge port has no known interface
  uint32_t vlan = 0;      // Q-BRIDGE FDB id, 0 from the plain BRIDGE-MIB table
};

struct ArpEntry {
  std::string address;  // IPv4 text
  std::string mac;      // 6 raw bytes
  uint32_t if_index = 0;
};

struct Supply {
  std::string description;  // raw
  int type = 0;             // prtMarkerSuppliesType
  int64_t level = -2;
  int64_t max_capacity = -2;
};

struct PrinterInfo {
  std::vector<Supply> supplies;
  int64_t page_count = -1;
  int status = 0;  // hrPrinterStatus: 1 other, 2 unknown, 3 idle, 4 printing, 5 warmup
};

struct UpsInfo {
  int battery_status = 0;  // UPS-MIB upsBatteryStatus: 1 unknown, 2 normal, 3 low, 4 depleted
  int64_t charge_percent = -1;
  int64_t runtime_minutes = -1;
  int output_source = 0;  // UPS-MIB upsOutputSource: 3 normal, 5 battery, ...
  bool on_battery = false;
};

struct StorageRow {
  std::string description;  // raw
  int64_t size_bytes = -1;
  int64_t used_bytes = -1;
};

struct DeviceDetails {
  std::vector<InterfaceRow> interfaces;
  EntityInfo entity;
  std::vector<LldpNeighbour> lldp;
  std::vector<FdbEntry> fdb;
  std::vector<ArpEntry> arp;
  std::optional<PrinterInfo> printer;
  std::optional<UpsInfo> ups;
  std::vector<StorageRow> storage;
  std::optional<int64_t> cpu_load_percent;
  std::vector<std::string> present;  // dotted roots the device answered under
  std::vector<SnmpProblem> problems;
};

struct TableOptions {
  WalkBudget budget;                  // per column walk
  int64_t device_budget_ms = 60'000;  // for all of one device's tables
  size_t device_max_rows = 200'000;   // rows of all of one device's tables
  std::vector<Oid> presence_roots;    // roots whose presence classification asks about
};

// Reads every table from one device over an open session.
DeviceDetails collect_details(SnmpSession& session, WalkTuning& tuning, const TableOptions& options,
                              const SteadyNow& now = {});

// Exposed for tests: decodes the index of a forwarding-table row (6 MAC arcs at the end).
std::string mac_from_index(const Oid& index);

}  // namespace schoolnet::discovery
