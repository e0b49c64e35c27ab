#include "discovery/inventory.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <map>
#include <set>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/text.hpp"
#include "discovery/snmp_walk.hpp"

namespace schoolnet::discovery {

namespace {

struct Builder {
  v1::DeviceSnapshot snap;
  std::string mac;  // raw
  std::set<std::string> addresses;
  std::set<std::string> sources;
  bool snmp_answered = false;
  bool explicit_target = false;
  DeviceFacts facts;
  const DeviceDetails* details = nullptr;
};

void add_source(Builder& b, const std::string& s) {
  b.sources.insert(s);
}

std::string safe(const std::string& bytes, bool keep_newlines = false) {
  return display_safe(bytes, keep_newlines);
}

void apply_snmp(Builder& b, const SnmpSystem& s) {
  b.addresses.insert(s.address);
  if (!s.responded) {
    b.snap.set_snmp_error(s.error);
    return;
  }
  b.snmp_answered = true;
  add_source(b, "snmp");
  b.snap.set_sys_descr(safe(s.sys_descr, true));
  if (!is_clean_text(s.sys_descr, true)) {
    b.snap.set_sys_descr_raw(s.sys_descr);
  }
  b.snap.set_sys_name(safe(s.sys_name));
  b.snap.set_sys_location(safe(s.sys_location));
  b.snap.set_sys_contact(safe(s.sys_contact));
  b.snap.set_sys_object_id(format_oid(s.sys_object_id));
  b.snap.set_sys_uptime_ticks(s.sys_uptime_ticks);
  b.snap.set_if_number(static_cast<int32_t>(std::clamp<int64_t>(s.if_number, -1, INT32_MAX)));
  for (const SnmpProblem& p : s.problems) {
    auto* e = b.snap.add_walk_errors();
    e->set_table(p.table);
    e->set_reason(p.reason);
    e->set_detail(safe(p.detail));
  }
  b.facts.sys_object_id = b.snap.sys_object_id();
  b.facts.sys_descr = b.snap.sys_descr();
}

const char* supply_type_name(int t) {
  // Printer-MIB (RFC 3805) PrtMarkerSuppliesTypeTC.
  static constexpr const char* kNames[] = {
      nullptr,                // 0: not defined
      "other",                // 1
      "unknown",              // 2
      "toner",                // 3
      "waste_toner",          // 4
      "ink",                  // 5
      "ink_cartridge",        // 6
      "ink_ribbon",           // 7
      "waste_ink",            // 8
      "opc",                  // 9: photoconductor drum
      "developer",            // 10
      "fuser_oil",            // 11
      "solid_wax",            // 12
      "ribbon_wax",           // 13
      "waste_wax",            // 14
      "fuser",                // 15
      "corona_wire",          // 16
      "fuser_oil_wick",       // 17
      "cleaner_unit",         // 18
      "fuser_cleaning_pad",   // 19
      "transfer_unit",        // 20
      "toner_cartridge",      // 21
      "fuser_oiler",          // 22
      "water",                // 23
      "waste_water",          // 24
      "glue_water_additive",  // 25
      "waste_paper",          // 26
      "binding_supply",       // 27
      "banding_supply",       // 28
      "stitching_wire",       // 29
      "shrink_wrap",          // 30
      "paper_wrap",           // 31
      "staples",              // 32
      "inserts",              // 33
      "covers",               // 34
      "matte_toner",          // 35
      "matte_ink",            // 36
  };
  if (t > 0 && t < static_cast<int>(std::size(kNames))) {
    return kNames[t];
  }
  return "other";
}

// Interfaces kept in a snapshot; a stack of 1,300 ports sends its first ports and the count.
constexpr size_t kMaxInterfaces = 1024;

void apply_details(Builder& b, const DeviceDetails& d) {
  b.details = &d;
  v1::DeviceSnapshot& s = b.snap;
  for (const InterfaceRow& row : d.interfaces) {
    if (static_cast<size_t>(s.interfaces_size()) >= kMaxInterfaces) {
      break;
    }
    auto* i = s.add_interfaces();
    i->set_if_index(row.index);
    i->set_name(safe(row.name));
    i->set_descr(safe(row.descr));
    i->set_alias(safe(row.alias));
    i->set_type(row.type);
    i->set_speed_bps(row.speed_bps);
    i->set_admin_status(row.admin_status);
    i->set_oper_status(row.oper_status);
    if (row.mac.size() == 6) {
      i->set_mac(format_mac(row.mac));
    }
    i->set_in_octets(row.in_octets);
    i->set_out_octets(row.out_octets);
    i->set_in_errors(row.in_errors);
    i->set_out_errors(row.out_errors);
    i->set_octet_counter_bits(row.high_capacity ? 64 : 32);
  }
  if (s.if_number() < 0 && !d.interfaces.empty()) {
    s.set_if_number(static_cast<int32_t>(std::min<size_t>(d.interfaces.size(), INT32_MAX)));
  }
  s.set_model(safe(d.entity.model));
  s.set_serial(safe(d.entity.serial));
  s.set_firmware(safe(d.entity.firmware));
  s.set_hardware_revision(safe(d.entity.hardware_revision));
  s.set_manufacturer(safe(d.entity.manufacturer));
  if (d.printer) {
    for (const Supply& sup : d.printer->supplies) {
      auto* p = s.add_supplies();
      p->set_description(safe(sup.description));
      p->set_type(supply_type_name(sup.type));
      p->set_level(static_cast<int32_t>(std::clamp<int64_t>(sup.level, INT32_MIN, INT32_MAX)));
      p->set_max_capacity(
          static_cast<int32_t>(std::clamp<int64_t>(sup.max_capacity, INT32_MIN, INT32_MAX)));
      // -1 other, -2 unknown, -3 "some remaining": no percentage can be computed from those.
      p->set_percent(
          sup.level >= 0 && sup.max_capacity > 0
              ? static_cast<int32_t>(std::min<int64_t>(100, sup.level * 100 / sup.max_capacity))
              : -1);
    }
    if (d.printer->page_count >= 0) {
      s.set_page_count(d.printer->page_count);
    }
    s.set_printer_status(d.printer->status);
  }
  if (d.ups) {
    auto* u = s.mutable_ups();
    u->set_battery_status(d.ups->battery_status);
    if (d.ups->charge_percent >= 0) {
      u->set_charge_percent(static_cast<int32_t>(std::min<int64_t>(d.ups->charge_percent, 100)));
    }
    if (d.ups->runtime_minutes >= 0) {
      u->set_runtime_minutes(
          static_cast<int32_t>(std::min<int64_t>(d.ups->runtime_minutes, INT32_MAX)));
    }
    u->set_on_battery(d.ups->on_battery);
  }
  for (const StorageRow& row : d.storage) {
    auto* st = s.add_storage();
    st->set_description(safe(row.description));
    if (row.size_bytes >= 0) {
      st->set_size_bytes(row.size_bytes);
    }
    if (row.used_bytes >= 0) {
      st->set_used_bytes(row.used_bytes);
    }
  }
  if (d.cpu_load_percent) {
    s.set_cpu_load_percent(static_cast<int32_t>(*d.cpu_load_percent));
  }
  for (const SnmpProblem& p : d.problems) {
    auto* e = s.add_walk_errors();
    e->set_table(p.table);
    e->set_reason(p.reason);
    e->set_detail(safe(p.detail));
  }
  b.facts.oids_present.insert(b.facts.oids_present.end(), d.present.begin(), d.present.end());
}

void apply_mdns(Builder& b, const MdnsHost& h) {
  add_source(b, "mdns");
  for (const auto& a : h.addresses) {
    b.addresses.insert(a);
  }
  if (!h.hostname.empty()) {
    b.snap.set_mdns_hostname(safe(h.hostname));
    b.facts.hostname = h.hostname;
  }
  for (const MdnsServiceInfo& s : h.services) {
    auto* out = b.snap.add_services();
    out->set_type(safe(s.type));
    out->set_instance(safe(s.instance));
    out->set_port(s.port);
    out->set_target_host(safe(s.target));
    for (const auto& [k, v] : s.txt) {
      auto* kv = out->add_txt();
      kv->set_key(safe(k));
      kv->set_value(safe(v));
      b.facts.txt.push_back(k + "=" + v);
    }
    b.facts.mdns_types.push_back(s.type);
  }
}

// Drops everything that could identify a person: the identity becomes a keyed hash; MAC,
// addresses, host and instance names, TXT values go.
void pseudonymise(v1::DeviceSnapshot& s, const std::string& key, const std::string& id_source) {
  v1::DeviceSnapshot kept;
  kept.set_device_id(pseudonym(key, id_source));
  kept.set_pseudonymised(true);
  kept.set_device_class(s.device_class());
  kept.set_vendor(s.vendor());
  for (const auto& src : s.sources()) {
    kept.add_sources(src);
  }
  std::set<std::string> types;
  for (const auto& svc : s.services()) {
    types.insert(svc.type());
  }
  for (const auto& t : types) {
    kept.add_services()->set_type(t);
  }
  kept.set_if_number(-1);
  s = std::move(kept);
}

std::string port_name(const DeviceDetails& d, uint32_t if_index, uint32_t bridge_port) {
  for (const InterfaceRow& i : d.interfaces) {
    if (i.index == if_index) {
      return safe(!i.name.empty() ? i.name : i.descr);
    }
  }
  return if_index ? "ifIndex " + std::to_string(if_index)
                  : "bridge port " + std::to_string(bridge_port);
}

std::string lldp_port(const LldpNeighbour& n) {
  if (n.port_subtype == 3 && n.port_id.size() == 6) {
    return format_mac(n.port_id);  // macAddress
  }
  if (!n.port_id.empty() && is_clean_text(n.port_id)) {
    return safe(n.port_id);
  }
  return !n.port_description.empty() ? safe(n.port_description) : to_hex(n.port_id);
}

// Private (RFC 1918), shared (RFC 6598) and the configured ranges: where a school's devices
// are. A router's neighbours on its internet side are not the school's devices.
bool in_school_ranges(const std::string& address,
                      const std::vector<std::pair<uint32_t, uint32_t>>& configured) {
  in_addr a{};
  if (inet_pton(AF_INET, address.c_str(), &a) != 1) {
    return false;
  }
  const uint32_t ip = ntohl(a.s_addr);
  auto within = [ip](uint32_t net, int bits) {
    return (ip >> (32 - bits)) == (net >> (32 - bits));
  };
  if (within(0x0A000000, 8) || within(0xAC100000, 12) || within(0xC0A80000, 16) ||
      within(0x64400000, 10)) {
    return true;
  }
  return std::any_of(configured.begin(), configured.end(),
                     [ip](const auto& r) { return ip >= r.first && ip <= r.second; });
}

// Whose ARP table tells us about the school's devices: the default gateway and the routers,
// firewalls and layer-3 switches among the SNMP devices. A NAS, printer or server also has an
// ARP table, but of its own peers (container networks, a backup target): not a view of the LAN.
bool routes_for_the_school(const std::string& address, const DeviceDetails& d,
                           const Observations& obs,
                           const std::map<std::string, const SnmpSystem*>& system_at,
                           const MergeOptions& options) {
  if (address == obs.gateway) {
    return true;
  }
  auto it = system_at.find(address);
  if (it == system_at.end() || !options.classifier) {
    return false;
  }
  DeviceFacts f;
  f.sys_object_id = format_oid(it->second->sys_object_id);
  f.sys_descr = safe(it->second->sys_descr);
  f.oids_present = d.present;
  const auto cls = options.classifier->classify(f).device_class;
  return cls == v1::DEVICE_CLASS_ROUTER || cls == v1::DEVICE_CLASS_SWITCH;
}

}  // namespace

std::string pseudonym(const std::string& key, const std::string& value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest, &len);
  return "anon:" + to_hex(std::span<const uint8_t>(digest, 8));
}

MergeResult merge(const Observations& obs, const MergeOptions& options) {
  // Link-layer addresses: the box's own neighbour table first, then the ARP tables routers and
  // layer-3 switches gave us (the only way to see devices on other VLANs).
  std::map<std::string, std::string> mac_of;      // address -> raw MAC
  std::map<std::string, std::string> arp_source;  // address -> "arp:<router>"
  for (const Neighbour& n : obs.neighbours) {
    mac_of[n.address] = n.mac;
  }
  std::map<std::string, std::string> name_of_router;
  std::map<std::string, const SnmpSystem*> system_at;
  for (const SnmpSystem& s : obs.snmp) {
    name_of_router[s.address] =
        s.sys_name.empty() || !is_clean_text(s.sys_name) ? s.address : safe(s.sys_name);
    system_at[s.address] = &s;
  }
  for (const auto& [router, d] : obs.details) {
    if (!routes_for_the_school(router, d, obs, system_at, options)) {
      continue;
    }
    for (const ArpEntry& e : d.arp) {
      if (!in_school_ranges(e.address, obs.school_ranges)) {
        continue;
      }
      mac_of.emplace(e.address, e.mac);
      arp_source.emplace(e.address, "arp:" + name_of_router[router]);
    }
  }
  std::map<std::string, Builder> devices;      // identity -> device
  std::map<std::string, std::string> by_addr;  // address -> identity

  // Without a MAC, a device is known by its serial number or, failing that, its SNMP engine
  // ID, so it keeps one identity when its address changes. Engine IDs that several devices
  // share (cloned firmware does that) identify nothing and are not used.
  std::map<std::string, int> engine_count;
  for (const SnmpSystem& s : obs.snmp) {
    if (!s.engine_id.empty()) {
      ++engine_count[s.engine_id];
    }
  }
  auto fallback_identity = [&](const SnmpSystem& s) -> std::string {
    auto d = obs.details.find(s.address);
    if (d != obs.details.end()) {
      const std::string serial(trim(trim_nul_padding(d->second.entity.serial)));
      if (!serial.empty() && is_clean_text(serial) && serial != "<private>") {
        return "serial:" + serial;
      }
    }
    if (!s.engine_id.empty() && engine_count[s.engine_id] == 1) {
      return "engine:" + to_hex(s.engine_id);
    }
    return {};
  };

  auto device_for = [&](const std::vector<std::string>& addresses,
                        const std::string& fallback = {}) -> Builder& {
    for (const auto& a : addresses) {
      auto it = by_addr.find(a);
      if (it != by_addr.end()) {
        return devices[it->second];
      }
    }
    std::string mac;
    for (const auto& a : addresses) {
      auto m = mac_of.find(a);
      if (m != mac_of.end()) {
        mac = m->second;
        break;
      }
    }
    const std::string id = !mac.empty()        ? "mac:" + format_mac(mac)
                           : !fallback.empty() ? fallback
                                               : "addr:" + addresses.front();
    Builder& b = devices[id];
    if (b.snap.device_id().empty()) {
      b.snap.set_device_id(id);
      b.mac = mac;
      b.snap.set_if_number(-1);
    }
    for (const auto& a : addresses) {
      by_addr[a] = id;
    }
    return b;
  };

  for (const SnmpSystem& s : obs.snmp) {
    Builder& b = device_for({s.address}, fallback_identity(s));
    b.explicit_target = b.explicit_target || obs.explicit_targets.count(s.address) > 0;
    apply_snmp(b, s);
    auto d = obs.details.find(s.address);
    if (d != obs.details.end()) {
      apply_details(b, d->second);
    }
  }
  for (const MdnsHost& h : obs.mdns) {
    std::vector<std::string> addrs = h.addresses;
    if (addrs.empty()) {
      addrs.push_back(h.address);
    }
    apply_mdns(device_for(addrs), h);
  }
  for (const Neighbour& n : obs.neighbours) {
    Builder& b = device_for({n.address});
    add_source(b, "neighbour");
    b.addresses.insert(n.address);
  }
  for (const auto& [addr, source] : arp_source) {
    Builder& b = device_for({addr});
    add_source(b, source);
    b.addresses.insert(addr);
  }
  std::set<std::string> macs;
  for (auto& [id, b] : devices) {
    if (!b.mac.empty()) {
      macs.insert(b.mac);
    }
  }
  const auto vendors =
      options.oui ? options.oui->lookup(macs) : std::map<std::string, std::string>{};

  // Classify, and decide who is reported in full.
  std::map<std::string, std::string> final_id;  // raw MAC -> the id the device leaves with
  for (auto& [id, b] : devices) {
    v1::DeviceSnapshot& s = b.snap;
    if (!b.mac.empty()) {
      s.set_mac(format_mac(b.mac));
      auto v = vendors.find(b.mac);
      if (v != vendors.end()) {
        s.set_vendor(safe(v->second));
        b.facts.vendor = v->second;
      }
    }
    for (const auto& a : b.addresses) {
      s.add_addresses(a);
    }
    if (!obs.gateway.empty() && b.addresses.count(obs.gateway)) {
      b.sources.insert("gateway");
    }
    for (const auto& src : b.sources) {
      s.add_sources(src);
    }
    Classification c =
        options.classifier ? options.classifier->classify(b.facts) : Classification{};
    if (b.sources.count("gateway") &&
        (c.device_class == v1::DEVICE_CLASS_UNKNOWN || c.device_class == v1::DEVICE_CLASS_SERVER)) {
      c = {v1::DEVICE_CLASS_ROUTER, "the box's default gateway"};
    }
    s.set_device_class(c.device_class);
    s.set_classified_by(safe(c.evidence));  // may quote a TXT entry: bytes from the network
    s.set_first_seen_ms(options.now_ms);
    s.set_last_seen_ms(options.now_ms);
    // Devices that answer SNMP, that the LA listed by address, or that the rules call
    // infrastructure are reported in full. Everything else may be a child's or a teacher's
    // own device: pseudonyms only.
    const bool full = is_infrastructure(c.device_class) || b.snmp_answered || b.explicit_target ||
                      b.sources.count("gateway");
    if (!full || c.device_class == v1::DEVICE_CLASS_END_USER) {
      pseudonymise(s, options.pseudonym_key, !b.mac.empty() ? b.mac : *b.addresses.begin());
      s.set_first_seen_ms(options.now_ms);
      s.set_last_seen_ms(options.now_ms);
    }
    if (!b.mac.empty()) {
      final_id[b.mac] = s.device_id();
    }
  }

  MergeResult out;
  // Where each device is plugged in: of every switch port its MAC was learned on, the one with
  // the fewest MACs behind it (an access port, not an uplink that carries the whole school).
  struct Placement {
    const Builder* sw = nullptr;
    const FdbEntry* entry = nullptr;
    size_t macs_on_port = SIZE_MAX;
  };
  std::map<std::pair<const Builder*, uint32_t>, size_t> port_load;
  for (const auto& [id, b] : devices) {
    if (b.details) {
      for (const FdbEntry& e : b.details->fdb) {
        ++port_load[{&b, e.bridge_port}];
      }
    }
  }
  std::map<std::string, Placement> placement;  // raw MAC -> best place
  for (const auto& [id, b] : devices) {
    if (!b.details) {
      continue;
    }
    for (const FdbEntry& e : b.details->fdb) {
      if (e.mac == b.mac) {
        continue;  // the switch itself
      }
      const size_t load = port_load[{&b, e.bridge_port}];
      Placement& p = placement[e.mac];
      if (load < p.macs_on_port) {
        p = {&b, &e, load};
      }
    }
  }
  for (auto& [id, b] : devices) {
    auto it = b.mac.empty() ? placement.end() : placement.find(b.mac);
    if (it == placement.end()) {
      continue;
    }
    const Placement& p = it->second;
    const std::string port = port_name(*p.sw->details, p.entry->if_index, p.entry->bridge_port);
    if (!b.snap.pseudonymised()) {
      auto* up = b.snap.mutable_uplink();
      up->set_switch_device_id(p.sw->snap.device_id());
      up->set_switch_name(p.sw->snap.sys_name().empty() ? p.sw->snap.device_id()
                                                        : p.sw->snap.sys_name());
      up->set_port(port);
      up->set_if_index(p.entry->if_index);
      up->set_vlan(p.entry->vlan);
    }
    v1::TopologyLink link;
    link.set_from_device_id(b.snap.device_id());
    link.set_to_device_id(p.sw->snap.device_id());
    link.set_to_port(port);
    link.set_source("fdb");
    out.links.push_back(std::move(link));
  }
  // LLDP: switch-to-switch (and AP) links, by chassis MAC when it is an inventoried device.
  std::map<std::string, std::string> id_by_name;
  std::set<std::string> pseudonymous;
  for (const auto& [id, b] : devices) {
    if (b.snap.pseudonymised()) {
      pseudonymous.insert(b.snap.device_id());
    } else if (!b.snap.sys_name().empty()) {
      id_by_name[b.snap.sys_name()] = b.snap.device_id();
    }
  }
  for (const auto& [id, b] : devices) {
    if (!b.details || b.snap.pseudonymised()) {
      continue;
    }
    for (const LldpNeighbour& n : b.details->lldp) {
      // A neighbour reported in full is named by its device id and port. Any other neighbour
      // (a personal device running an LLDP agent, or one we cannot classify) is a pseudonym
      // with no port: its system name may be a person's host name and its port id a MAC.
      std::string to;
      if (n.chassis_subtype == 4 && n.chassis_id.size() == 6) {
        auto f = final_id.find(n.chassis_id);
        if (f != final_id.end()) {
          to = f->second;
        }
      }
      if (to.empty() && !n.sys_name.empty()) {
        auto f = id_by_name.find(safe(n.sys_name));
        if (f != id_by_name.end()) {
          to = f->second;
        }
      }
      const bool in_full = !to.empty() && pseudonymous.count(to) == 0;
      if (to.empty()) {
        to = pseudonym(options.pseudonym_key, !n.chassis_id.empty() ? n.chassis_id : n.sys_name);
      }
      v1::TopologyLink link;
      link.set_from_device_id(b.snap.device_id());
      link.set_from_port(
          safe(!n.local_port_name.empty() ? n.local_port_name : std::to_string(n.local_port)));
      link.set_to_device_id(to);
      link.set_to_port(in_full ? lldp_port(n) : std::string());
      link.set_source("lldp");
      out.links.push_back(std::move(link));
    }
  }
  for (auto& [id, b] : devices) {
    out.devices.push_back(std::move(b.snap));
  }
  return out;
}

namespace {

// The parts of a snapshot whose change is worth sending: everything but uptime and times.
std::string fingerprint(const v1::DeviceSnapshot& s) {
  v1::DeviceSnapshot c = s;
  c.clear_sys_uptime_ticks();
  c.clear_first_seen_ms();
  c.clear_last_seen_ms();
  std::string out;
  c.SerializeToString(&out);
  return out;
}

std::string joined_addresses(const v1::DeviceSnapshot& s) {
  std::vector<std::string> a(s.addresses().begin(), s.addresses().end());
  std::sort(a.begin(), a.end());
  std::string out;
  for (const auto& x : a) {
    out += (out.empty() ? "" : ",") + x;
  }
  return out;
}

// Per-interface rates since the previous snapshot of the same device, from octet counters that
// wrap at their width; none across a restart (uptime went down) or a change of width.
void add_rates(const v1::DeviceSnapshot& old, v1::DeviceSnapshot& cur, int64_t now_ms) {
  const int64_t elapsed_ms = now_ms - old.last_seen_ms();
  if (elapsed_ms <= 0 || old.interfaces().empty() || cur.interfaces().empty()) {
    return;
  }
  const bool restarted = cur.sys_uptime_ticks() < old.sys_uptime_ticks();
  std::map<uint32_t, const v1::Interface*> before;
  for (const v1::Interface& i : old.interfaces()) {
    before[i.if_index()] = &i;
  }
  for (v1::Interface& i : *cur.mutable_interfaces()) {
    auto it = before.find(i.if_index());
    if (it == before.end() || it->second->octet_counter_bits() != i.octet_counter_bits()) {
      continue;
    }
    const int bits = static_cast<int>(i.octet_counter_bits());
    auto in = counter_delta(it->second->in_octets(), i.in_octets(), bits, restarted);
    auto out = counter_delta(it->second->out_octets(), i.out_octets(), bits, restarted);
    auto bps = [&](uint64_t octets) {
      return static_cast<uint64_t>(static_cast<double>(octets) * 8000.0 /
                                   static_cast<double>(elapsed_ms));
    };
    if (in) {
      i.set_in_bps(bps(*in));
    }
    if (out) {
      i.set_out_bps(bps(*out));
    }
  }
}

v1::DeviceChange change(const v1::DeviceSnapshot& s, v1::DeviceChange::Kind kind,
                        std::string before = {}, std::string after = {}) {
  v1::DeviceChange c;
  c.set_device_id(s.device_id());
  c.set_kind(kind);
  c.set_before(std::move(before));
  c.set_after(std::move(after));
  c.set_device_class(s.device_class());
  return c;
}

}  // namespace

InventoryUpdate update_inventory(const std::vector<PreviousDevice>& previous,
                                 const std::vector<v1::DeviceSnapshot>& seen, int64_t now_ms,
                                 int64_t gone_after, bool send_all) {
  InventoryUpdate u;
  std::map<std::string, const PreviousDevice*> prev;
  for (const auto& p : previous) {
    prev[p.snapshot.device_id()] = &p;
  }
  std::set<std::string> seen_ids;
  for (const v1::DeviceSnapshot& s : seen) {
    seen_ids.insert(s.device_id());
    v1::DeviceSnapshot cur = s;
    cur.set_last_seen_ms(now_ms);
    auto it = prev.find(s.device_id());
    if (it == prev.end()) {
      cur.set_first_seen_ms(now_ms);
      u.changes.push_back(change(cur, v1::DeviceChange::APPEARED, {}, joined_addresses(cur)));
      u.to_send.push_back(cur);
    } else {
      const v1::DeviceSnapshot& old = it->second->snapshot;
      cur.set_first_seen_ms(it->second->first_seen_ms);
      add_rates(old, cur, now_ms);
      if (!cur.pseudonymised() && joined_addresses(old) != joined_addresses(cur)) {
        u.changes.push_back(change(cur, v1::DeviceChange::ADDRESS_CHANGED, joined_addresses(old),
                                   joined_addresses(cur)));
      }
      if (!old.firmware().empty() && !cur.firmware().empty() && old.firmware() != cur.firmware()) {
        u.changes.push_back(
            change(cur, v1::DeviceChange::FIRMWARE_CHANGED, old.firmware(), cur.firmware()));
      }
      if (send_all || fingerprint(old) != fingerprint(cur)) {
        u.to_send.push_back(cur);
      }
    }
    u.current.push_back(std::move(cur));
    u.missed.push_back(0);
  }
  for (const auto& p : previous) {
    if (seen_ids.count(p.snapshot.device_id())) {
      continue;
    }
    const int64_t missed = p.missed_passes + 1;
    if (missed >= gone_after) {
      u.changes.push_back(change(p.snapshot, v1::DeviceChange::GONE, joined_addresses(p.snapshot)));
      u.removed.push_back(p.snapshot.device_id());
      continue;
    }
    u.current.push_back(p.snapshot);
    u.missed.push_back(missed);
    if (send_all) {
      u.to_send.push_back(p.snapshot);
    }
  }
  return u;
}

}  // namespace schoolnet::discovery
