#include "discovery/inventory.hpp"

#include <set>

#include <gtest/gtest.h>

#include "core/text.hpp"

namespace schoolnet::discovery {
namespace {

const std::string kKey(32, 'k');

Neighbour nb(const std::string& addr, const std::string& mac_text) {
  Neighbour n;
  n.address = addr;
  n.mac = parse_mac(mac_text);
  return n;
}

MergeOptions options() {
  MergeOptions o;
  o.classifier = &Classifier::builtin();
  o.pseudonym_key = kKey;
  o.now_ms = 1'700'000'000'000;
  return o;
}

SnmpSystem printer_snmp() {
  SnmpSystem s;
  s.address = "10.0.0.20";
  s.responded = true;
  s.sys_descr = "Brother NC-6800h";
  s.sys_name = "office-printer";
  s.sys_object_id = parse_oid("1.3.6.1.4.1.2435.2.3.9.1");
  return s;
}

MdnsHost printer_mdns() {
  MdnsHost h;
  h.address = "10.0.0.20";
  h.addresses = {"10.0.0.20"};
  h.hostname = "BRN001BA9.local";
  h.services.push_back(
      {"_ipp._tcp", "Office Printer", 631, {{"ty", "Brother"}}, "BRN001BA9.local"});
  return h;
}

MdnsHost laptop_mdns() {
  MdnsHost h;
  h.address = "10.0.0.77";
  h.addresses = {"10.0.0.77"};
  h.hostname = "Mrs-Patels-MacBook.local";
  h.services.push_back({"_companion-link._tcp",
                        "Mrs Patel's MacBook Pro",
                        49152,
                        {{"rpMd", "MacBookPro18,3"}},
                        "Mrs-Patels-MacBook.local"});
  return h;
}

TEST(Inventory, MergesSnmpMdnsAndNeighboursIntoOneDevicePerMac) {
  Observations obs;
  obs.snmp = {printer_snmp()};
  obs.mdns = {printer_mdns()};
  obs.neighbours = {nb("10.0.0.20", "00:1b:a9:6e:40:12")};
  const auto devices = merge(obs, options()).devices;
  ASSERT_EQ(devices.size(), 1u);
  const auto& d = devices[0];
  EXPECT_EQ(d.device_id(), "mac:00:1b:a9:6e:40:12");
  EXPECT_EQ(d.mac(), "00:1b:a9:6e:40:12");
  EXPECT_EQ(d.sys_name(), "office-printer");
  EXPECT_EQ(d.mdns_hostname(), "BRN001BA9.local");
  EXPECT_EQ(d.device_class(), v1::DEVICE_CLASS_PRINTER);
  ASSERT_EQ(d.services_size(), 1);
  EXPECT_EQ(d.services(0).instance(), "Office Printer");
  EXPECT_EQ(std::vector<std::string>(d.sources().begin(), d.sources().end()),
            (std::vector<std::string>{"mdns", "neighbour", "snmp"}));
}

TEST(Inventory, WithoutAMacTheAddressIsTheIdentity) {
  Observations obs;
  obs.snmp = {printer_snmp()};
  const auto devices = merge(obs, options()).devices;
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].device_id(), "addr:10.0.0.20");
}

TEST(Inventory, WithoutAMacTheSerialOrAUniqueEngineIdIsTheIdentity) {
  Observations obs;
  SnmpSystem a = printer_snmp();
  a.engine_id = std::string("\x80\x00\x1f\x88\x04xyz", 8);
  SnmpSystem b = printer_snmp();
  b.address = "10.0.0.30";
  b.engine_id = std::string(
      "\x80\x00\x1f\x88\x04"
      "abc",
      8);
  SnmpSystem c = printer_snmp();
  c.address = "10.0.0.31";
  c.engine_id = b.engine_id;  // shared with b: not an identity
  obs.snmp = {a, b, c};
  DeviceDetails d;
  d.entity.serial = "FCW1929B68S";
  obs.details["10.0.0.30"] = d;
  std::map<std::string, std::string> id;
  for (const auto& dev : merge(obs, options()).devices) {
    id[dev.addresses(0)] = dev.device_id();
  }
  EXPECT_EQ(id["10.0.0.20"], "engine:80001f880478797a");
  EXPECT_EQ(id["10.0.0.30"], "serial:FCW1929B68S");
  EXPECT_EQ(id["10.0.0.31"], "addr:10.0.0.31");
}

TEST(Inventory, EndUserDevicesLeaveOnlyAsPseudonyms) {
  Observations obs;
  obs.mdns = {laptop_mdns()};
  obs.neighbours = {nb("10.0.0.77", "f0:18:98:11:22:33"), nb("10.0.0.78", "3a:11:22:33:44:55")};
  const auto devices = merge(obs, options()).devices;
  ASSERT_EQ(devices.size(), 2u);
  for (const auto& d : devices) {
    EXPECT_TRUE(d.pseudonymised());
    EXPECT_EQ(d.device_id().rfind("anon:", 0), 0u);
    std::string bytes;
    d.SerializeToString(&bytes);
    for (const char* secret :
         {"Patel", "MacBook", "f0:18:98", "3a:11:22", "10.0.0.77", "10.0.0.78"}) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << secret << " leaked";
    }
  }
  EXPECT_EQ(devices[0].device_class() == v1::DEVICE_CLASS_END_USER ||
                devices[1].device_class() == v1::DEVICE_CLASS_END_USER,
            true);
}

// A teacher's laptop runs an LLDP agent and sits on a switch port; another neighbour is not
// in the inventory at all. Neither the laptop's MAC (as chassis or port id) nor either host
// name may leave the box in the switch's topology links.
TEST(Inventory, LldpLinksToPersonalOrUnknownNeighboursCarryNoNameOrMac) {
  Observations obs;
  SnmpSystem sw;
  sw.address = "10.0.0.2";
  sw.responded = true;
  sw.sys_name = "core-switch";
  sw.sys_descr = "Cisco IOS Software";
  sw.sys_object_id = parse_oid("1.3.6.1.4.1.9.1.1208");
  obs.snmp = {sw};
  obs.mdns = {laptop_mdns()};
  obs.neighbours = {nb("10.0.0.2", "00:1e:13:aa:bb:cc"), nb("10.0.0.77", "f0:18:98:11:22:33")};
  DeviceDetails d;
  LldpNeighbour laptop;
  laptop.local_port = 7;
  laptop.local_port_name = "Gi1/0/7";
  laptop.chassis_subtype = 4;
  laptop.chassis_id = parse_mac("f0:18:98:11:22:33");
  laptop.port_subtype = 3;
  laptop.port_id = parse_mac("f0:18:98:11:22:33");
  laptop.sys_name = "Mrs-Patels-MacBook";
  LldpNeighbour unknown;
  unknown.local_port = 9;
  unknown.chassis_subtype = 7;
  unknown.chassis_id = "Jacks-ThinkPad";
  unknown.port_subtype = 5;
  unknown.port_id = "enp0s31f6";
  unknown.sys_name = "Jacks-ThinkPad";
  d.lldp = {laptop, unknown};
  obs.details["10.0.0.2"] = d;
  const auto result = merge(obs, options());
  int lldp_links = 0;
  for (const auto& link : result.links) {
    if (link.source() != "lldp") {
      continue;
    }
    ++lldp_links;
    EXPECT_EQ(link.to_device_id().rfind("anon:", 0), 0u) << link.ShortDebugString();
    EXPECT_EQ(link.to_port(), "");
    std::string bytes;
    link.SerializeToString(&bytes);
    for (const std::string& secret :
         {std::string("Patel"), std::string("MacBook"), std::string("Jack"),
          std::string("f0:18:98"), parse_mac("f0:18:98:11:22:33")}) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << "leaked in " << link.ShortDebugString();
    }
  }
  EXPECT_EQ(lldp_links, 2);
}

// A 32-bit counter that went round between two passes still gives the right rate; after the
// switch restarts (uptime went down) no rate is made up.
TEST(Inventory, InterfaceRatesWrapAt32BitsAndSkipARestart) {
  auto snap = [](uint64_t in, uint64_t out, int64_t uptime) {
    v1::DeviceSnapshot s;
    s.set_device_id("mac:00:1e:13:aa:bb:cc");
    s.set_sys_uptime_ticks(uptime);
    v1::Interface* i = s.add_interfaces();
    i->set_if_index(1);
    i->set_octet_counter_bits(32);
    i->set_in_octets(in);
    i->set_out_octets(out);
    return s;
  };
  const int64_t t0 = 1'700'000'000'000;
  auto first = update_inventory({}, {snap(4'294'967'000u, 1'000, 100)}, t0, 3, false);
  ASSERT_EQ(first.current.size(), 1u);
  EXPECT_FALSE(first.current[0].interfaces(0).has_in_bps());
  std::vector<PreviousDevice> prev = {{first.current[0], t0, 0}};
  // 100 s later: in wrapped past 2^32 (296 + 704 = 1000 octets), out grew by 125,000 octets.
  auto second = update_inventory(prev, {snap(704, 126'000, 10'100)}, t0 + 100'000, 3, false);
  const v1::Interface& i = second.current[0].interfaces(0);
  ASSERT_TRUE(i.has_in_bps());
  EXPECT_EQ(i.in_bps(), 80u);  // 1000 octets * 8 / 100 s
  EXPECT_EQ(i.out_bps(), 10'000u);
  prev = {{second.current[0], t0, 0}};
  auto rebooted = update_inventory(prev, {snap(5'000, 5'000, 50)}, t0 + 200'000, 3, false);
  EXPECT_FALSE(rebooted.current[0].interfaces(0).has_in_bps());
}

// Only the school's routers speak for the school's network: the gateway's neighbours on the
// staff VLAN are devices; its neighbours on the internet side, and the container network a
// NAS keeps in its own ARP table, are not.
TEST(Inventory, ArpTablesCountOnlyRoutersAndTheSchoolsOwnRanges) {
  Observations obs;
  SnmpSystem gw;
  gw.address = "10.0.0.1";
  gw.responded = true;
  gw.sys_descr = "Linux gateway";
  SnmpSystem nas;
  nas.address = "10.0.0.40";
  nas.responded = true;
  nas.sys_descr = "Linux DiskStation";
  nas.sys_object_id = parse_oid("1.3.6.1.4.1.6574.1");
  obs.snmp = {gw, nas};
  obs.gateway = "10.0.0.1";
  DeviceDetails gw_tables;
  gw_tables.arp = {{"10.0.20.20", parse_mac("00:26:ab:01:02:03"), 3},
                   {"198.18.0.10", parse_mac("02:00:00:00:00:10"), 2}};
  DeviceDetails nas_tables;
  nas_tables.arp = {{"172.26.10.5", parse_mac("02:42:ac:1a:0a:05"), 7}};
  obs.details["10.0.0.1"] = gw_tables;
  obs.details["10.0.0.40"] = nas_tables;
  std::set<std::string> seen;
  for (const auto& d : merge(obs, options()).devices) {
    for (const auto& src : d.sources()) {
      if (src.rfind("arp:", 0) == 0) {
        seen.insert(d.device_id());
      }
    }
  }
  EXPECT_EQ(seen.size(), 1u) << "only the staff VLAN printer comes from an ARP table";
}

TEST(Inventory, PseudonymsAreStablePerKeyAndDifferAcrossSchools) {
  EXPECT_EQ(pseudonym(kKey, "abcdef"), pseudonym(kKey, "abcdef"));
  EXPECT_NE(pseudonym(kKey, "abcdef"), pseudonym(std::string(32, 'j'), "abcdef"));
  EXPECT_EQ(pseudonym(kKey, "abcdef").size(), 5u + 16u);
}

TEST(Inventory, OddBytesFromDevicesAreMadeSafeAndTheRawFormKept) {
  SnmpSystem s = printer_snmp();
  s.sys_descr = std::string(
      "Dell\xda"
      "FTOS\0\0",
      11);
  Observations obs;
  obs.snmp = {s};
  const auto d = merge(obs, options()).devices.at(0);
  EXPECT_EQ(d.sys_descr(), "Dell\\xdaFTOS");
  EXPECT_EQ(d.sys_descr_raw(), s.sys_descr);
}

TEST(Inventory, ASilentConfiguredTargetIsRecordedWithItsError) {
  SnmpSystem s;
  s.address = "10.0.0.5";
  s.error = "no_answer";
  Observations obs;
  obs.snmp = {s};
  obs.explicit_targets = {"10.0.0.5"};
  obs.neighbours = {nb("10.0.0.5", "00:11:22:33:44:55")};
  const auto d = merge(obs, options()).devices.at(0);
  EXPECT_FALSE(d.pseudonymised());
  EXPECT_EQ(d.snmp_error(), "no_answer");
  EXPECT_EQ(d.addresses(0), "10.0.0.5");
}

TEST(Inventory, ReportsAppearedChangedAndGoneDevices) {
  Observations obs;
  obs.snmp = {printer_snmp()};
  obs.neighbours = {nb("10.0.0.20", "00:1b:a9:6e:40:12")};
  const auto first = merge(obs, options()).devices;
  auto u1 = update_inventory({}, first, 1000, 3, false);
  ASSERT_EQ(u1.changes.size(), 1u);
  EXPECT_EQ(u1.changes[0].kind(), v1::DeviceChange::APPEARED);
  EXPECT_EQ(u1.to_send.size(), 1u);

  std::vector<PreviousDevice> prev = {{u1.current[0], 1000, 0}};
  // Unchanged: nothing to send, no change.
  auto u2 = update_inventory(prev, first, 2000, 3, false);
  EXPECT_TRUE(u2.changes.empty());
  EXPECT_TRUE(u2.to_send.empty());
  EXPECT_EQ(u2.current[0].first_seen_ms(), 1000);
  EXPECT_EQ(u2.current[0].last_seen_ms(), 2000);
  // The address moves.
  auto moved = first;
  moved[0].set_addresses(0, "10.0.0.21");
  auto u3 = update_inventory(prev, moved, 3000, 3, false);
  ASSERT_EQ(u3.changes.size(), 1u);
  EXPECT_EQ(u3.changes[0].kind(), v1::DeviceChange::ADDRESS_CHANGED);
  EXPECT_EQ(u3.changes[0].before(), "10.0.0.20");
  EXPECT_EQ(u3.changes[0].after(), "10.0.0.21");
  // Missing for gone_after passes: reported gone once, then dropped.
  std::vector<PreviousDevice> p = prev;
  for (int pass = 1; pass <= 3; ++pass) {
    auto u = update_inventory(p, {}, 4000 + pass, 3, false);
    if (pass < 3) {
      EXPECT_TRUE(u.changes.empty());
      ASSERT_EQ(u.current.size(), 1u);
      p = {{u.current[0], 1000, u.missed[0]}};
    } else {
      ASSERT_EQ(u.changes.size(), 1u);
      EXPECT_EQ(u.changes[0].kind(), v1::DeviceChange::GONE);
      EXPECT_TRUE(u.current.empty());
      EXPECT_EQ(u.removed.size(), 1u);
    }
  }
}

TEST(Inventory, SendAllResendsEverySnapshot) {
  Observations obs;
  obs.snmp = {printer_snmp()};
  const auto seen = merge(obs, options()).devices;
  auto u1 = update_inventory({}, seen, 1000, 3, false);
  std::vector<PreviousDevice> prev = {{u1.current[0], 1000, 0}};
  EXPECT_EQ(update_inventory(prev, seen, 2000, 3, true).to_send.size(), 1u);
}

}  // namespace
}  // namespace schoolnet::discovery
