// `schoolnet-agent inventory`: the devices the agent knows, from its local store, as a table,
// JSON or CSV; or one device in detail, with the errors met while walking it.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <boost/json.hpp>

#include "app/agent.hpp"
#include "app/reports.hpp"
#include "core/text.hpp"
#include "discovery/classify.hpp"

namespace schoolnet::app {

namespace json = boost::json;

namespace {

std::string name_of(const v1::DeviceSnapshot& d) {
  if (d.pseudonymised()) {
    return "(personal device)";
  }
  if (!d.sys_name().empty()) {
    return d.sys_name();
  }
  if (!d.mdns_hostname().empty()) {
    return d.mdns_hostname();
  }
  return d.addresses_size() > 0 ? d.addresses(0) : d.device_id();
}

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) {
    out += (out.empty() ? "" : sep) + i;
  }
  return out;
}

std::string service_types(const v1::DeviceSnapshot& d) {
  std::vector<std::string> t;
  for (const auto& s : d.services()) {
    if (std::find(t.begin(), t.end(), s.type()) == t.end()) {
      t.push_back(s.type());
    }
  }
  std::string out;
  for (const auto& x : t) {
    out += (out.empty() ? "" : " ") + x;
  }
  return out;
}

std::string plugged_into(const v1::DeviceSnapshot& d) {
  if (!d.has_uplink()) {
    return {};
  }
  const std::string& port = d.uplink().port();
  const bool number = !port.empty() && port.find_first_not_of("0123456789") == std::string::npos;
  return d.uplink().switch_name() + (number ? " port " : " ") + port;
}

json::array strings(const google::protobuf::RepeatedPtrField<std::string>& items) {
  json::array a;
  for (const auto& i : items) {
    a.push_back(json::value(i));
  }
  return a;
}

json::object device_json(const v1::DeviceSnapshot& d) {
  json::object o;
  o["device_id"] = d.device_id();
  o["class"] = discovery::class_name(d.device_class());
  o["classified_by"] = d.classified_by();
  o["name"] = name_of(d);
  o["pseudonymised"] = d.pseudonymised();
  o["addresses"] = strings(d.addresses());
  o["mac"] = d.mac();
  o["vendor"] = d.vendor();
  o["manufacturer"] = d.manufacturer();
  o["model"] = d.model();
  o["serial"] = d.serial();
  o["firmware"] = d.firmware();
  o["hardware_revision"] = d.hardware_revision();
  o["sys_name"] = d.sys_name();
  o["sys_descr"] = d.sys_descr();
  o["sys_object_id"] = d.sys_object_id();
  o["sys_location"] = d.sys_location();
  o["sys_contact"] = d.sys_contact();
  o["sys_uptime_ticks"] = d.sys_uptime_ticks();
  o["if_number"] = d.if_number();
  o["mdns_hostname"] = d.mdns_hostname();
  if (d.has_uplink()) {
    o["uplink"] = json::object{{"switch", d.uplink().switch_name()},
                               {"switch_device_id", d.uplink().switch_device_id()},
                               {"port", d.uplink().port()},
                               {"if_index", d.uplink().if_index()},
                               {"vlan", d.uplink().vlan()}};
  } else {
    o["uplink"] = nullptr;
  }
  json::array services;
  for (const auto& s : d.services()) {
    json::object txt;
    for (const auto& kv : s.txt()) {
      txt[kv.key()] = kv.value();
    }
    services.push_back(json::object{{"type", s.type()},
                                    {"instance", s.instance()},
                                    {"port", s.port()},
                                    {"txt", std::move(txt)}});
  }
  o["services"] = std::move(services);
  json::array interfaces;
  for (const auto& i : d.interfaces()) {
    interfaces.push_back(json::object{{"if_index", i.if_index()},
                                      {"name", i.name()},
                                      {"descr", i.descr()},
                                      {"alias", i.alias()},
                                      {"type", i.type()},
                                      {"speed_bps", i.speed_bps()},
                                      {"admin_status", i.admin_status()},
                                      {"oper_status", i.oper_status()},
                                      {"mac", i.mac()},
                                      {"in_octets", i.in_octets()},
                                      {"out_octets", i.out_octets()},
                                      {"in_errors", i.in_errors()},
                                      {"out_errors", i.out_errors()}});
  }
  o["interfaces"] = std::move(interfaces);
  json::array supplies;
  for (const auto& s : d.supplies()) {
    supplies.push_back(json::object{{"description", s.description()},
                                    {"type", s.type()},
                                    {"level", s.level()},
                                    {"max_capacity", s.max_capacity()},
                                    {"percent", s.percent()}});
  }
  o["supplies"] = std::move(supplies);
  if (d.has_page_count()) {
    o["page_count"] = d.page_count();
  }
  if (d.has_ups()) {
    json::object u{{"battery_status", d.ups().battery_status()},
                   {"on_battery", d.ups().on_battery()}};
    if (d.ups().has_charge_percent()) {
      u["charge_percent"] = d.ups().charge_percent();
    }
    if (d.ups().has_runtime_minutes()) {
      u["runtime_minutes"] = d.ups().runtime_minutes();
    }
    o["ups"] = std::move(u);
  }
  json::array storage;
  for (const auto& s : d.storage()) {
    json::object so{{"description", s.description()}};
    if (s.has_size_bytes()) {
      so["size_bytes"] = s.size_bytes();
    }
    if (s.has_used_bytes()) {
      so["used_bytes"] = s.used_bytes();
    }
    storage.push_back(std::move(so));
  }
  o["storage"] = std::move(storage);
  if (d.has_cpu_load_percent()) {
    o["cpu_load_percent"] = d.cpu_load_percent();
  }
  o["sources"] = strings(d.sources());
  o["snmp_error"] = d.snmp_error();
  json::array errors;
  for (const auto& e : d.walk_errors()) {
    errors.push_back(
        json::object{{"table", e.table()}, {"reason", e.reason()}, {"detail", e.detail()}});
  }
  o["walk_errors"] = std::move(errors);
  o["first_seen"] = format_utc_ms(d.first_seen_ms());
  o["last_seen"] = format_utc_ms(d.last_seen_ms());
  return o;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) {
    return s;
  }
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  return out + "\"";
}

void line(const char* label, const std::string& value) {
  if (!value.empty()) {
    std::printf("  %-15s %s\n", label, value.c_str());
  }
}

// One device for a person at a terminal.
void print_detail(const v1::DeviceSnapshot& d) {
  std::printf("%s\n", name_of(d).c_str());
  line("id", d.device_id());
  line("class", std::string(discovery::class_name(d.device_class())) +
                    (d.classified_by().empty() ? "" : " (" + d.classified_by() + ")"));
  line("addresses", joined(d.addresses(), ", "));
  line("mac", d.mac());
  line("vendor", d.vendor());
  line("model", d.model());
  line("serial", d.serial());
  line("firmware", d.firmware());
  line("plugged into", plugged_into(d));
  line("sysDescr", d.sys_descr());
  line("sysObjectID", d.sys_object_id());
  line("location", d.sys_location());
  line("mDNS name", d.mdns_hostname());
  line("services", service_types(d));
  line("sources", joined(d.sources(), ", "));
  if (d.interfaces_size() > 0) {
    size_t up = 0;
    for (const auto& i : d.interfaces()) {
      up += i.oper_status() == 1;
    }
    line("interfaces", std::to_string(d.interfaces_size()) + " (" + std::to_string(up) + " up)");
  }
  for (const auto& s : d.supplies()) {
    line("supply", s.description() + ": " +
                       (s.percent() >= 0  ? std::to_string(s.percent()) + "%"
                        : s.level() == -3 ? std::string("some remaining")
                                          : std::string("level unknown")));
  }
  if (d.has_page_count()) {
    line("pages printed", std::to_string(d.page_count()));
  }
  if (d.has_ups()) {
    line("ups", std::string(d.ups().on_battery() ? "ON BATTERY" : "on mains") +
                    (d.ups().has_charge_percent()
                         ? ", charge " + std::to_string(d.ups().charge_percent()) + "%"
                         : "") +
                    (d.ups().has_runtime_minutes()
                         ? ", runtime " + std::to_string(d.ups().runtime_minutes()) + " min"
                         : ""));
  }
  line("snmp", d.snmp_error().empty() ? "" : "no answer (" + d.snmp_error() + ")");
  for (const auto& e : d.walk_errors()) {
    line("walk error",
         e.table() + ": " + e.reason() + (e.detail().empty() ? "" : " (" + e.detail() + ")"));
  }
  line("first seen", format_utc_ms(d.first_seen_ms()));
  line("last seen", format_utc_ms(d.last_seen_ms()));
}

}  // namespace

int print_inventory(const config::AgentConfig& config, Format format, const std::string& device) {
  SystemClock clock;
  auto store = open_for_reading(config, clock);
  if (!store) {
    std::fprintf(stderr, "schoolnet-agent: %s\n", store.error().message.c_str());
    return kExitStore;
  }
  auto rows = store->devices();
  if (!rows) {
    std::fprintf(stderr, "schoolnet-agent: %s\n", rows.error().to_string().c_str());
    return kExitStore;
  }
  std::vector<v1::DeviceSnapshot> devices;
  for (const auto& r : *rows) {
    v1::DeviceSnapshot d;
    if (d.ParseFromString(r.snapshot)) {
      devices.push_back(std::move(d));
    }
  }
  std::sort(devices.begin(), devices.end(), [](const auto& a, const auto& b) {
    if (a.pseudonymised() != b.pseudonymised()) {
      return !a.pseudonymised();
    }
    return (a.addresses_size() ? a.addresses(0) : a.device_id()) <
           (b.addresses_size() ? b.addresses(0) : b.device_id());
  });
  if (!device.empty()) {
    auto it = std::find_if(devices.begin(), devices.end(), [&](const v1::DeviceSnapshot& d) {
      return d.device_id() == device || d.mac() == device ||
             std::find(d.addresses().begin(), d.addresses().end(), device) != d.addresses().end();
    });
    if (it == devices.end()) {
      std::fprintf(stderr,
                   "schoolnet-agent: no device with address, MAC or id '%s' in the inventory\n",
                   device.c_str());
      return kExitFailed;
    }
    if (format == Format::json) {
      std::cout << json::serialize(device_json(*it)) << "\n";
    } else {
      print_detail(*it);
    }
    return kExitOk;
  }
  if (format == Format::json) {
    json::array all;
    for (const auto& d : devices) {
      all.push_back(device_json(d));
    }
    std::cout << json::serialize(all) << "\n";
    return kExitOk;
  }
  if (format == Format::csv) {
    std::cout << "class,name,addresses,mac,vendor,model,serial,firmware,plugged_into,"
                 "sys_object_id,services,sources,last_seen\n";
    for (const auto& d : devices) {
      std::cout << csv_field(discovery::class_name(d.device_class())) << ','
                << csv_field(name_of(d)) << ',' << csv_field(joined(d.addresses(), " ")) << ','
                << csv_field(d.mac()) << ',' << csv_field(d.vendor()) << ',' << csv_field(d.model())
                << ',' << csv_field(d.serial()) << ',' << csv_field(d.firmware()) << ','
                << csv_field(plugged_into(d)) << ',' << csv_field(d.sys_object_id()) << ','
                << csv_field(service_types(d)) << ',' << csv_field(joined(d.sources(), " ")) << ','
                << format_utc_ms(d.last_seen_ms()) << "\n";
    }
    return kExitOk;
  }
  std::printf("%-12s %-24s %-15s %-17s %-18s %-20s %-22s %s\n", "CLASS", "NAME", "ADDRESS", "MAC",
              "VENDOR", "MODEL / FIRMWARE", "PLUGGED INTO", "SOURCES");
  size_t personal = 0;
  for (const auto& d : devices) {
    if (d.pseudonymised()) {
      ++personal;
      continue;
    }
    std::string model = d.model();
    if (!d.firmware().empty()) {
      model += (model.empty() ? "" : " / ") + d.firmware();
    }
    std::printf(
        "%-12s %-24.24s %-15s %-17s %-18.18s %-20.20s %-22.22s %s\n",
        discovery::class_name(d.device_class()), name_of(d).c_str(),
        d.addresses_size() ? d.addresses(0).c_str() : "-", d.mac().empty() ? "-" : d.mac().c_str(),
        d.vendor().empty() ? "-" : d.vendor().c_str(), model.empty() ? "-" : model.c_str(),
        plugged_into(d).empty() ? "-" : plugged_into(d).c_str(), joined(d.sources(), ",").c_str());
  }
  std::printf(
      "%zu devices; %zu more are personal or unidentified devices, kept only as pseudonyms\n",
      devices.size() - personal, personal);
  return kExitOk;
}

}  // namespace schoolnet::app
