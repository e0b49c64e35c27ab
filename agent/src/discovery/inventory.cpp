#include "discovery/inventory.hpp"

#include <algorithm>
#include <map>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/text.hpp"

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

}  // namespace

std::string pseudonym(const std::string& key, const std::string& value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest, &len);
  return "anon:" + to_hex(std::span<const uint8_t>(digest, 8));
}

std::vector<v1::DeviceSnapshot> merge(const Observations& obs, const MergeOptions& options) {
  std::map<std::string, std::string> mac_of;  // address -> raw MAC
  for (const Neighbour& n : obs.neighbours) {
    mac_of[n.address] = n.mac;
  }
  std::map<std::string, Builder> devices;      // identity -> device
  std::map<std::string, std::string> by_addr;  // address -> identity

  auto device_for = [&](const std::vector<std::string>& addresses) -> Builder& {
    for (const auto& a : addresses) {
      auto it = by_addr.find(a);
      if (it != by_addr.end()) {
        return devices[it->second];
      }
    }
    std::string id;
    std::string mac;
    for (const auto& a : addresses) {
      auto m = mac_of.find(a);
      if (m != mac_of.end()) {
        mac = m->second;
        break;
      }
    }
    id = !mac.empty() ? "mac:" + format_mac(mac) : "addr:" + addresses.front();
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
    Builder& b = device_for({s.address});
    b.explicit_target = b.explicit_target || obs.explicit_targets.count(s.address) > 0;
    apply_snmp(b, s);
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
  std::set<std::string> macs;
  for (auto& [id, b] : devices) {
    if (!b.mac.empty()) {
      macs.insert(b.mac);
    }
  }
  const auto vendors =
      options.oui ? options.oui->lookup(macs) : std::map<std::string, std::string>{};

  std::vector<v1::DeviceSnapshot> out;
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
    out.push_back(std::move(s));
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
