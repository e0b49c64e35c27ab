#include "discovery/snmp_tables.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>

namespace schoolnet::discovery {

namespace {

using Column = std::map<Oid, VarBind>;  // index suffix -> value

Oid oid(std::string_view dotted) {
  return parse_oid(dotted);
}

Oid suffix(const Oid& full, const Oid& prefix) {
  return Oid(full.begin() + static_cast<std::ptrdiff_t>(prefix.size()), full.end());
}

std::optional<uint64_t> as_uint(const VarBind& v) {
  switch (v.type) {
    case VarType::counter32:
    case VarType::gauge32:
    case VarType::timeticks:
    case VarType::counter64:
      return v.unsigned_value;
    case VarType::integer:
      return v.integer >= 0 ? std::optional<uint64_t>(static_cast<uint64_t>(v.integer))
                            : std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> as_int(const VarBind& v) {
  switch (v.type) {
    case VarType::integer:
      return v.integer;
    case VarType::counter32:
    case VarType::gauge32:
    case VarType::timeticks:
      return static_cast<int64_t>(v.unsigned_value);
    default:
      return std::nullopt;
  }
}

std::optional<std::string> as_bytes(const VarBind& v) {
  if (v.type == VarType::octets || v.type == VarType::opaque) {
    return v.bytes;
  }
  return std::nullopt;
}

class Reader {
 public:
  Reader(SnmpSession& s, WalkTuning& t, const TableOptions& o, DeviceDetails& d,
         const SteadyNow& now)
      : s_(s), t_(t), o_(o), d_(d), now_(now ? now : SteadyNow([] {
          return std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now().time_since_epoch())
              .count();
        })) {
    deadline_ = now_() + o_.device_budget_ms;
  }

  bool out_of_time() const { return now_() > deadline_; }

  // Walks one column; problems are recorded against `table`. After a timeout the device is
  // treated as gone for the rest of this pass (each further walk would only wait again).
  Column column(const char* table, std::string_view dotted) {
    Column out;
    if (dead_ || out_of_time() || rows_ >= o_.device_max_rows) {
      if (!dead_ && !budget_reported_) {
        const bool time = out_of_time();
        d_.problems.push_back({table, time ? "time_budget" : "row_budget",
                               time ? "device time budget spent before this table"
                                    : "device row budget (" + std::to_string(o_.device_max_rows) +
                                          " rows) spent before this table"});
        budget_reported_ = true;
      }
      return out;
    }
    const Oid root = oid(dotted);
    WalkBudget budget = o_.budget;
    budget.max_rows = std::min(budget.max_rows, o_.device_max_rows - rows_);
    WalkResult r = walk(s_, root, t_, budget, now_);
    rows_ += r.rows.size();
    for (VarBind& v : r.rows) {
      Oid idx = suffix(v.oid, root);
      out.emplace(std::move(idx), std::move(v));
    }
    if (!r.complete()) {
      d_.problems.push_back({table, r.stopped, r.detail});
      if (r.stopped == "timeout" || r.stopped == "auth") {
        dead_ = true;
      }
    }
    return out;
  }

  void wrong_type(const char* table, const char* column, size_t count) {
    if (count > 0) {
      d_.problems.push_back(
          {table, "wrong_type",
           std::string(column) + ": " + std::to_string(count) + " value(s) of an unexpected type"});
    }
  }

  void present(std::string_view root, bool any) {
    if (any) {
      d_.present.emplace_back(root);
    }
  }

  Result<std::vector<VarBind>> get(const std::vector<Oid>& oids) {
    if (dead_) {
      return make_error("timeout");
    }
    return s_.get(oids);
  }

  Result<std::vector<VarBind>> next(const Oid& o) {
    if (dead_) {
      return make_error("timeout");
    }
    return s_.get_next({o});
  }

 private:
  SnmpSession& s_;
  WalkTuning& t_;
  const TableOptions& o_;
  DeviceDetails& d_;
  SteadyNow now_;
  int64_t deadline_ = 0;
  bool dead_ = false;
  bool budget_reported_ = false;
  size_t rows_ = 0;  // read from this device so far, against options.device_max_rows
};

// Fills a field of each row from a column, counting values of the wrong type.
template <typename Row, typename F>
void fill(Reader& r, const char* table, const char* column, const Column& col,
          std::map<uint32_t, Row>& rows, F&& apply) {
  size_t wrong = 0;
  for (const auto& [idx, v] : col) {
    if (idx.size() != 1) {
      ++wrong;
      continue;
    }
    if (!apply(rows[idx[0]], v)) {
      ++wrong;
    }
  }
  r.wrong_type(table, column, wrong);
}

void read_interfaces(Reader& r, DeviceDetails& d) {
  std::map<uint32_t, InterfaceRow> rows;
  const char* t = "ifTable";
  auto text = [](std::string InterfaceRow::*field) {
    return [field](InterfaceRow& row, const VarBind& v) {
      auto b = as_bytes(v);
      if (b) {
        row.*field = *b;
      }
      return b.has_value();
    };
  };
  auto number = [](auto setter) {
    return [setter](InterfaceRow& row, const VarBind& v) {
      auto n = as_uint(v);
      if (n) {
        setter(row, *n);
      }
      return n.has_value();
    };
  };
  fill(r, t, "ifDescr", r.column(t, "1.3.6.1.2.1.2.2.1.2"), rows, text(&InterfaceRow::descr));
  fill(r, t, "ifType", r.column(t, "1.3.6.1.2.1.2.2.1.3"), rows,
       number([](InterfaceRow& x, uint64_t n) { x.type = static_cast<uint32_t>(n); }));
  fill(r, t, "ifSpeed", r.column(t, "1.3.6.1.2.1.2.2.1.5"), rows,
       number([](InterfaceRow& x, uint64_t n) { x.speed_bps = n; }));
  fill(r, t, "ifPhysAddress", r.column(t, "1.3.6.1.2.1.2.2.1.6"), rows,
       [](InterfaceRow& x, const VarBind& v) {
         auto b = as_bytes(v);
         if (b && b->size() == 6) {
           x.mac = *b;
         }
         return b.has_value();
       });
  fill(r, t, "ifAdminStatus", r.column(t, "1.3.6.1.2.1.2.2.1.7"), rows,
       number([](InterfaceRow& x, uint64_t n) { x.admin_status = static_cast<uint32_t>(n); }));
  fill(r, t, "ifOperStatus", r.column(t, "1.3.6.1.2.1.2.2.1.8"), rows,
       number([](InterfaceRow& x, uint64_t n) { x.oper_status = static_cast<uint32_t>(n); }));
  fill(r, t, "ifInOctets", r.column(t, "1.3.6.1.2.1.2.2.1.10"), rows,
       number([](InterfaceRow& x, uint64_t n) { x.in_octets = n; }));
  fill(r, t, "ifInErrors", r.column(t, "1.3.6.1.2.1.2.2.1.14"), rows,
       number([](InterfaceRow& x, uint64_t n) { x.in_errors = n; }));
  fill(r, t, "ifOutOctets", r.column(t, "1.3.6.1.2.1.2.2.1.16"), rows,
       number([](InterfaceRow& x, uint64_t n) { x.out_octets = n; }));
  fill(r, t, "ifOutErrors", r.column(t, "1.3.6.1.2.1.2.2.1.20"), rows,
       number([](InterfaceRow& x, uint64_t n) { x.out_errors = n; }));
  const char* x = "ifXTable";
  fill(r, x, "ifName", r.column(x, "1.3.6.1.2.1.31.1.1.1.1"), rows, text(&InterfaceRow::name));
  fill(r, x, "ifAlias", r.column(x, "1.3.6.1.2.1.31.1.1.1.18"), rows, text(&InterfaceRow::alias));
  fill(r, x, "ifHighSpeed", r.column(x, "1.3.6.1.2.1.31.1.1.1.15"), rows,
       number([](InterfaceRow& row, uint64_t n) {
         // ifSpeed saturates at 4.29 Gbit/s; ifHighSpeed (Mbit/s) tells the truth above it.
         if (n * 1'000'000 > row.speed_bps) {
           row.speed_bps = n * 1'000'000;
         }
       }));
  fill(r, x, "ifHCInOctets", r.column(x, "1.3.6.1.2.1.31.1.1.1.6"), rows,
       number([](InterfaceRow& row, uint64_t n) { row.hc_in_octets = n; }));
  fill(r, x, "ifHCOutOctets", r.column(x, "1.3.6.1.2.1.31.1.1.1.10"), rows,
       number([](InterfaceRow& row, uint64_t n) { row.hc_out_octets = n; }));
  for (auto& [idx, row] : rows) {
    row.index = idx;
    if (row.hc_in_octets && row.hc_out_octets) {
      row.in_octets = *row.hc_in_octets;
      row.out_octets = *row.hc_out_octets;
      row.high_capacity = true;
    }
    d.interfaces.push_back(std::move(row));
  }
  r.present("1.3.6.1.2.1.2.2", !d.interfaces.empty());
}

void read_entity(Reader& r, DeviceDetails& d) {
  const char* t = "entPhysicalTable";
  struct Ent {
    std::string descr, hw, fw, sw, serial, mfg, model;
    int64_t cls = 0;
  };
  std::map<uint32_t, Ent> rows;
  auto text = [](std::string Ent::*field) {
    return [field](Ent& e, const VarBind& v) {
      auto b = as_bytes(v);
      if (b) {
        e.*field = *b;
      }
      return b.has_value();
    };
  };
  fill(r, t, "entPhysicalDescr", r.column(t, "1.3.6.1.2.1.47.1.1.1.1.2"), rows, text(&Ent::descr));
  fill(r, t, "entPhysicalClass", r.column(t, "1.3.6.1.2.1.47.1.1.1.1.5"), rows,
       [](Ent& e, const VarBind& v) {
         auto n = as_int(v);
         if (n) {
           e.cls = *n;
         }
         return n.has_value();
       });
  if (rows.empty()) {
    return;  // no ENTITY-MIB: skip the other columns
  }
  fill(r, t, "entPhysicalHardwareRev", r.column(t, "1.3.6.1.2.1.47.1.1.1.1.8"), rows,
       text(&Ent::hw));
  fill(r, t, "entPhysicalFirmwareRev", r.column(t, "1.3.6.1.2.1.47.1.1.1.1.9"), rows,
       text(&Ent::fw));
  fill(r, t, "entPhysicalSoftwareRev", r.column(t, "1.3.6.1.2.1.47.1.1.1.1.10"), rows,
       text(&Ent::sw));
  fill(r, t, "entPhysicalSerialNum", r.column(t, "1.3.6.1.2.1.47.1.1.1.1.11"), rows,
       text(&Ent::serial));
  fill(r, t, "entPhysicalMfgName", r.column(t, "1.3.6.1.2.1.47.1.1.1.1.12"), rows, text(&Ent::mfg));
  fill(r, t, "entPhysicalModelName", r.column(t, "1.3.6.1.2.1.47.1.1.1.1.13"), rows,
       text(&Ent::model));
  r.present("1.3.6.1.2.1.47.1.1.1", true);
  // The chassis (class 3) describes the device; a stack has several: take the first. Without
  // one, the first entity that carries a serial number or model.
  const Ent* best = nullptr;
  for (const auto& [idx, e] : rows) {
    if (e.cls == 3) {
      best = &e;
      break;
    }
  }
  if (!best) {
    for (const auto& [idx, e] : rows) {
      if (!e.serial.empty() || !e.model.empty()) {
        best = &e;
        break;
      }
    }
  }
  if (!best) {
    best = &rows.begin()->second;  // no classes, no serials: the first entity is the device
  }
  d.entity.model = !best->model.empty() ? best->model : best->descr;
  d.entity.serial = best->serial;
  d.entity.firmware = !best->sw.empty() ? best->sw : best->fw;
  d.entity.hardware_revision = best->hw;
  d.entity.manufacturer = best->mfg;
  d.entity.description = best->descr;
}

void read_lldp(Reader& r, DeviceDetails& d) {
  const char* t = "lldpRemTable";
  struct Key {
    uint32_t local_port;
    uint32_t rem_index;
    bool operator<(const Key& o) const {
      return std::tie(local_port, rem_index) < std::tie(o.local_port, o.rem_index);
    }
  };
  std::map<Key, LldpNeighbour> rows;
  size_t bad_index = 0;
  auto each = [&](std::string_view col, auto apply) {
    for (const auto& [idx, v] : r.column(t, col)) {
      // Index: lldpRemTimeMark, lldpRemLocalPortNum, lldpRemIndex.
      if (idx.size() != 3) {
        ++bad_index;
        continue;
      }
      LldpNeighbour& n = rows[{idx[1], idx[2]}];
      n.local_port = idx[1];
      apply(n, v);
    }
  };
  each("1.0.8802.1.1.2.1.4.1.1.4", [](LldpNeighbour& n, const VarBind& v) {
    n.chassis_subtype = static_cast<int>(as_int(v).value_or(0));
  });
  if (rows.empty()) {
    return;
  }
  each("1.0.8802.1.1.2.1.4.1.1.5",
       [](LldpNeighbour& n, const VarBind& v) { n.chassis_id = as_bytes(v).value_or(""); });
  each("1.0.8802.1.1.2.1.4.1.1.6", [](LldpNeighbour& n, const VarBind& v) {
    n.port_subtype = static_cast<int>(as_int(v).value_or(0));
  });
  each("1.0.8802.1.1.2.1.4.1.1.7",
       [](LldpNeighbour& n, const VarBind& v) { n.port_id = as_bytes(v).value_or(""); });
  each("1.0.8802.1.1.2.1.4.1.1.8",
       [](LldpNeighbour& n, const VarBind& v) { n.port_description = as_bytes(v).value_or(""); });
  each("1.0.8802.1.1.2.1.4.1.1.9",
       [](LldpNeighbour& n, const VarBind& v) { n.sys_name = as_bytes(v).value_or(""); });
  if (bad_index > 0) {
    d.problems.push_back(
        {t, "bad_index", std::to_string(bad_index) + " rows with a malformed index"});
  }
  // Local port names: lldpLocPortId (subtype-dependent) or lldpLocPortDesc.
  std::map<uint32_t, std::string> local;
  for (const auto& [idx, v] : r.column("lldpLocPortTable", "1.0.8802.1.1.2.1.3.7.1.4")) {
    if (idx.size() == 1 && as_bytes(v)) {
      local[idx[0]] = *as_bytes(v);
    }
  }
  for (auto& [k, n] : rows) {
    auto it = local.find(n.local_port);
    if (it != local.end()) {
      n.local_port_name = it->second;
    }
    d.lldp.push_back(std::move(n));
  }
  r.present("1.0.8802.1.1.2.1.4.1", true);
}

void read_fdb(Reader& r, DeviceDetails& d) {
  // Bridge port -> ifIndex.
  std::map<uint32_t, uint32_t> port_if;
  for (const auto& [idx, v] : r.column("dot1dBasePortTable", "1.3.6.1.2.1.17.1.4.1.2")) {
    if (idx.size() == 1 && as_uint(v)) {
      port_if[idx[0]] = static_cast<uint32_t>(*as_uint(v));
    }
  }
  std::set<std::pair<std::string, uint32_t>> seen;
  size_t bad = 0;
  auto add = [&](const std::string& mac, uint32_t port, uint32_t vlan, int64_t status) {
    // Status 3 is "learned"; 4 "self" (the switch's own MAC) and 2 "invalid" are not devices.
    if (status != 0 && status != 3) {
      return;
    }
    if (mac.size() != 6 || port == 0 || !seen.insert({mac, port}).second) {
      return;
    }
    auto it = port_if.find(port);
    d.fdb.push_back({mac, port, it == port_if.end() ? 0 : it->second, vlan});
  };
  // Q-BRIDGE first (per-VLAN tables): index = FDB id, then the six MAC octets.
  const Column qport = r.column("dot1qTpFdbTable", "1.3.6.1.2.1.17.7.1.2.2.1.2");
  const Column qstatus =
      qport.empty() ? Column{} : r.column("dot1qTpFdbTable", "1.3.6.1.2.1.17.7.1.2.2.1.3");
  for (const auto& [idx, v] : qport) {
    const std::string mac = idx.size() == 7 ? mac_from_index(idx) : std::string{};
    auto port = as_uint(v);
    if (mac.empty() || !port) {
      ++bad;
      continue;
    }
    auto st = qstatus.find(idx);
    add(mac, static_cast<uint32_t>(*port), idx[0],
        st == qstatus.end() ? 0 : as_int(st->second).value_or(0));
  }
  const Column dport = r.column("dot1dTpFdbTable", "1.3.6.1.2.1.17.4.3.1.2");
  const Column dstatus =
      dport.empty() ? Column{} : r.column("dot1dTpFdbTable", "1.3.6.1.2.1.17.4.3.1.3");
  for (const auto& [idx, v] : dport) {
    const std::string mac = idx.size() == 6 ? mac_from_index(idx) : std::string{};
    auto port = as_uint(v);
    if (mac.empty() || !port) {
      ++bad;
      continue;
    }
    auto st = dstatus.find(idx);
    add(mac, static_cast<uint32_t>(*port), 0,
        st == dstatus.end() ? 0 : as_int(st->second).value_or(0));
  }
  if (bad > 0) {
    d.problems.push_back({"fdb", "bad_index", std::to_string(bad) + " forwarding rows unreadable"});
  }
  r.present("1.3.6.1.2.1.17.4.3", !d.fdb.empty());
}

void read_arp(Reader& r, DeviceDetails& d) {
  std::set<std::string> seen;
  size_t bad = 0;
  // ipNetToPhysicalPhysAddress: index ifIndex, addressType (1 = IPv4), length, octets.
  for (const auto& [idx, v] : r.column("ipNetToPhysicalTable", "1.3.6.1.2.1.4.35.1.4")) {
    if (idx.size() == 7 && idx[1] == 1 && idx[2] == 4) {
      auto mac = as_bytes(v);
      if (!mac || mac->size() != 6 || idx[3] > 255 || idx[4] > 255 || idx[5] > 255 ||
          idx[6] > 255) {
        ++bad;
        continue;
      }
      const std::string ip = std::to_string(idx[3]) + "." + std::to_string(idx[4]) + "." +
                             std::to_string(idx[5]) + "." + std::to_string(idx[6]);
      if (seen.insert(ip).second) {
        d.arp.push_back({ip, *mac, idx[0]});
      }
    }
  }
  // The older ipNetToMediaPhysAddress: index ifIndex, then the address.
  for (const auto& [idx, v] : r.column("ipNetToMediaTable", "1.3.6.1.2.1.4.22.1.2")) {
    auto mac = as_bytes(v);
    if (idx.size() != 5 || !mac || mac->size() != 6 || idx[1] > 255 || idx[2] > 255 ||
        idx[3] > 255 || idx[4] > 255) {
      ++bad;
      continue;
    }
    const std::string ip = std::to_string(idx[1]) + "." + std::to_string(idx[2]) + "." +
                           std::to_string(idx[3]) + "." + std::to_string(idx[4]);
    if (seen.insert(ip).second) {
      d.arp.push_back({ip, *mac, idx[0]});
    }
  }
  if (bad > 0) {
    d.problems.push_back({"arp", "bad_value", std::to_string(bad) + " ARP rows unreadable"});
  }
}

void read_printer(Reader& r, DeviceDetails& d) {
  const char* t = "prtMarkerSuppliesTable";
  struct Key {
    uint32_t dev, idx;
    bool operator<(const Key& o) const { return std::tie(dev, idx) < std::tie(o.dev, o.idx); }
  };
  std::map<Key, Supply> rows;
  size_t wrong = 0;
  auto each = [&](std::string_view col, auto apply) {
    for (const auto& [idx, v] : r.column(t, col)) {
      if (idx.size() != 2) {
        ++wrong;
        continue;
      }
      if (!apply(rows[{idx[0], idx[1]}], v)) {
        ++wrong;
      }
    }
  };
  each("1.3.6.1.2.1.43.11.1.1.6", [](Supply& s, const VarBind& v) {
    auto b = as_bytes(v);
    s.description = b.value_or("");
    return b.has_value();
  });
  if (rows.empty()) {
    return;
  }
  each("1.3.6.1.2.1.43.11.1.1.5", [](Supply& s, const VarBind& v) {
    auto n = as_int(v);
    s.type = static_cast<int>(n.value_or(0));
    return n.has_value();
  });
  each("1.3.6.1.2.1.43.11.1.1.8", [](Supply& s, const VarBind& v) {
    auto n = as_int(v);
    s.max_capacity = n.value_or(-2);
    return n.has_value();
  });
  each("1.3.6.1.2.1.43.11.1.1.9", [](Supply& s, const VarBind& v) {
    auto n = as_int(v);
    s.level = n.value_or(-2);
    return n.has_value();
  });
  r.wrong_type(t, "supplies", wrong);
  PrinterInfo p;
  for (auto& [k, s] : rows) {
    p.supplies.push_back(std::move(s));
  }
  // prtMarkerLifeCount: pages (or impressions) over the printer's life; the first marker.
  for (const auto& [idx, v] : r.column("prtMarkerTable", "1.3.6.1.2.1.43.10.2.1.4")) {
    if (auto n = as_uint(v)) {
      p.page_count = static_cast<int64_t>(*n);
      break;
    }
  }
  for (const auto& [idx, v] : r.column("hrPrinterTable", "1.3.6.1.2.1.25.3.5.1.1")) {
    if (auto n = as_int(v)) {
      p.status = static_cast<int>(*n);
      break;
    }
  }
  d.printer = std::move(p);
  r.present("1.3.6.1.2.1.43.11", true);
}

void read_ups(Reader& r, DeviceDetails& d) {
  // RFC 1628 UPS-MIB scalars, then APC PowerNet's, for the many APC cards that lack RFC 1628.
  const Oid status = oid("1.3.6.1.2.1.33.1.2.1.0");
  const Oid runtime = oid("1.3.6.1.2.1.33.1.2.3.0");
  const Oid charge = oid("1.3.6.1.2.1.33.1.2.4.0");
  const Oid source = oid("1.3.6.1.2.1.33.1.4.1.0");
  auto std_ups = r.get({status, runtime, charge, source});
  UpsInfo u;
  bool found = false;
  if (std_ups) {
    for (const VarBind& v : *std_ups) {
      auto n = as_int(v);
      if (!n || v.is_exception()) {
        continue;
      }
      found = true;
      if (v.oid == status) {
        u.battery_status = static_cast<int>(*n);
      } else if (v.oid == runtime) {
        u.runtime_minutes = *n;
      } else if (v.oid == charge) {
        u.charge_percent = *n;
      } else if (v.oid == source) {
        u.output_source = static_cast<int>(*n);
        u.on_battery = *n == 5;
      }
    }
  }
  if (!found) {
    const Oid apc_status = oid("1.3.6.1.4.1.318.1.1.1.2.1.1.0");
    const Oid apc_charge = oid("1.3.6.1.4.1.318.1.1.1.2.2.1.0");
    const Oid apc_runtime = oid("1.3.6.1.4.1.318.1.1.1.2.2.3.0");  // TimeTicks
    const Oid apc_output = oid("1.3.6.1.4.1.318.1.1.1.4.1.1.0");   // 2 online, 3 onBattery
    auto apc = r.get({apc_status, apc_charge, apc_runtime, apc_output});
    if (apc) {
      for (const VarBind& v : *apc) {
        auto n = as_int(v);
        if (!n || v.is_exception()) {
          continue;
        }
        found = true;
        if (v.oid == apc_status) {
          // PowerNet: 1 unknown, 2 batteryNormal, 3 batteryLow, 4 batteryInFaultCondition.
          u.battery_status = static_cast<int>(*n);
        } else if (v.oid == apc_charge) {
          u.charge_percent = *n;
        } else if (v.oid == apc_runtime) {
          u.runtime_minutes = *n / 6000;  // hundredths of a second
        } else if (v.oid == apc_output) {
          u.on_battery = *n == 3;
          u.output_source = *n == 3 ? 5 : 3;
        }
      }
    }
  }
  if (found) {
    d.ups = u;
    r.present("1.3.6.1.2.1.33.1", true);
  }
}

void read_host_resources(Reader& r, DeviceDetails& d) {
  const char* t = "hrStorageTable";
  struct Row {
    std::string descr;
    int64_t unit = -1, size = -1, used = -1;
  };
  std::map<uint32_t, Row> rows;
  fill(r, t, "hrStorageDescr", r.column(t, "1.3.6.1.2.1.25.2.3.1.3"), rows,
       [](Row& x, const VarBind& v) {
         auto b = as_bytes(v);
         x.descr = b.value_or("");
         return b.has_value();
       });
  if (!rows.empty()) {
    auto num = [](int64_t Row::*field) {
      return [field](Row& x, const VarBind& v) {
        auto n = as_int(v);
        x.*field = n.value_or(-1);
        return n.has_value();
      };
    };
    fill(r, t, "hrStorageAllocationUnits", r.column(t, "1.3.6.1.2.1.25.2.3.1.4"), rows,
         num(&Row::unit));
    fill(r, t, "hrStorageSize", r.column(t, "1.3.6.1.2.1.25.2.3.1.5"), rows, num(&Row::size));
    fill(r, t, "hrStorageUsed", r.column(t, "1.3.6.1.2.1.25.2.3.1.6"), rows, num(&Row::used));
    size_t negative = 0;
    for (auto& [idx, row] : rows) {
      StorageRow s;
      s.description = row.descr;
      // Negative sizes come from agents that overflow Integer32; keep them as unknown.
      if (row.unit > 0 && row.size >= 0) {
        s.size_bytes = row.unit * row.size;
      }
      if (row.unit > 0 && row.used >= 0) {
        s.used_bytes = row.unit * row.used;
      }
      negative += (row.size < -1 || row.used < -1 || (row.size == -1 && row.unit > 0));
      d.storage.push_back(std::move(s));
    }
    if (negative > 0) {
      d.problems.push_back(
          {t, "bad_value", std::to_string(negative) + " storage rows with negative sizes"});
    }
    r.present("1.3.6.1.2.1.25.2.3", true);
  }
  int64_t total = 0;
  int64_t n = 0;
  for (const auto& [idx, v] : r.column("hrProcessorTable", "1.3.6.1.2.1.25.3.3.1.2")) {
    if (auto load = as_int(v); load && *load >= 0 && *load <= 100) {
      total += *load;
      ++n;
    }
  }
  if (n > 0) {
    d.cpu_load_percent = total / n;
  }
}

}  // namespace

std::string mac_from_index(const Oid& index) {
  if (index.size() < 6) {
    return {};
  }
  std::string mac;
  for (size_t i = index.size() - 6; i < index.size(); ++i) {
    if (index[i] > 255) {
      return {};
    }
    mac += static_cast<char>(index[i]);
  }
  return mac;
}

DeviceDetails collect_details(SnmpSession& session, WalkTuning& tuning, const TableOptions& options,
                              const SteadyNow& now) {
  DeviceDetails d;
  Reader r(session, tuning, options, d, now);
  read_interfaces(r, d);
  read_entity(r, d);
  read_lldp(r, d);
  read_fdb(r, d);
  read_arp(r, d);
  read_printer(r, d);
  read_ups(r, d);
  read_host_resources(r, d);
  // Presence of the MIBs the classification rules ask about (one GETNEXT each).
  for (const Oid& root : options.presence_roots) {
    auto got = r.next(root);
    if (got && !got->empty() && oid_starts_with(got->front().oid, root) &&
        !got->front().is_exception()) {
      d.present.push_back(format_oid(root));
    }
  }
  return d;
}

}  // namespace schoolnet::discovery
