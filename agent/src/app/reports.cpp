#include "app/reports.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <boost/json.hpp>

#include "app/agent.hpp"
#include "core/text.hpp"
#include "discovery/classify.hpp"
#include "store/agent_store.hpp"

namespace schoolnet::app {

namespace json = boost::json;

namespace {

Result<store::AgentStore> open_for_reading(const config::AgentConfig& config, const Clock& clock) {
  auto s = store::AgentStore::open(config.store.path, clock, nullptr, /*read_only=*/true);
  if (!s) {
    return make_error(s.error().code, "cannot read the agent's store " + config.store.path + ": " +
                                          s.error().message +
                                          " (has the agent run yet? is this the right config?)");
  }
  return s;
}

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

json::object device_json(const v1::DeviceSnapshot& d) {
  json::object o;
  o["device_id"] = d.device_id();
  o["class"] = discovery::class_name(d.device_class());
  o["name"] = name_of(d);
  o["pseudonymised"] = d.pseudonymised();
  json::array addrs;
  for (const auto& a : d.addresses()) {
    addrs.push_back(json::value(a));
  }
  o["addresses"] = std::move(addrs);
  o["mac"] = d.mac();
  o["vendor"] = d.vendor();
  o["sys_name"] = d.sys_name();
  o["sys_descr"] = d.sys_descr();
  o["sys_object_id"] = d.sys_object_id();
  o["sys_location"] = d.sys_location();
  o["sys_contact"] = d.sys_contact();
  o["sys_uptime_ticks"] = d.sys_uptime_ticks();
  o["if_number"] = d.if_number();
  o["mdns_hostname"] = d.mdns_hostname();
  json::array services;
  for (const auto& s : d.services()) {
    json::object so;
    so["type"] = s.type();
    so["instance"] = s.instance();
    so["port"] = s.port();
    json::object txt;
    for (const auto& kv : s.txt()) {
      txt[kv.key()] = kv.value();
    }
    so["txt"] = std::move(txt);
    services.push_back(std::move(so));
  }
  o["services"] = std::move(services);
  json::array sources;
  for (const auto& s : d.sources()) {
    sources.push_back(json::value(s));
  }
  o["sources"] = std::move(sources);
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
    std::cout << json::serialize(device_json(*it)) << "\n";
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
    std::cout << "class,name,addresses,mac,vendor,sys_object_id,services,sources,last_seen\n";
    for (const auto& d : devices) {
      std::cout << csv_field(discovery::class_name(d.device_class())) << ','
                << csv_field(name_of(d)) << ',' << csv_field(joined(d.addresses(), " ")) << ','
                << csv_field(d.mac()) << ',' << csv_field(d.vendor()) << ','
                << csv_field(d.sys_object_id()) << ',' << csv_field(service_types(d)) << ','
                << csv_field(joined(d.sources(), " ")) << ',' << format_utc_ms(d.last_seen_ms())
                << "\n";
    }
    return kExitOk;
  }
  std::printf("%-13s %-28s %-16s %-17s %-22s %s\n", "CLASS", "NAME", "ADDRESS", "MAC", "VENDOR",
              "SOURCES");
  size_t personal = 0;
  for (const auto& d : devices) {
    if (d.pseudonymised()) {
      ++personal;
      continue;
    }
    std::printf("%-13s %-28.28s %-16s %-17s %-22.22s %s\n", discovery::class_name(d.device_class()),
                name_of(d).c_str(), d.addresses_size() ? d.addresses(0).c_str() : "-",
                d.mac().empty() ? "-" : d.mac().c_str(),
                d.vendor().empty() ? "-" : d.vendor().c_str(), joined(d.sources(), ",").c_str());
  }
  std::printf(
      "%zu devices; %zu more are personal or unidentified devices, kept only as pseudonyms\n",
      devices.size() - personal, personal);
  return kExitOk;
}

int print_status(const config::AgentConfig& config, const Clock& clock, Format format) {
  auto store = open_for_reading(config, clock);
  if (!store) {
    std::fprintf(stderr, "schoolnet-agent: %s\n", store.error().message.c_str());
    return kExitStore;
  }
  auto a = store->accounting();
  if (!a) {
    std::fprintf(stderr, "schoolnet-agent: %s\n", a.error().to_string().c_str());
    return kExitStore;
  }
  auto state = [&](const char* key) {
    auto v = store->get_state(key);
    return v && v->has_value() ? **v : std::string{};
  };
  const std::string last_ok = state("uplink_last_ok_ms");
  const int64_t last_ok_ms = last_ok.empty() ? 0 : std::stoll(last_ok);
  const std::string last_error = state("uplink_last_error");
  const int64_t now = clock.wall_ms();
  const int64_t oldest_age_s = a->oldest_pending_ms > 0 ? (now - a->oldest_pending_ms) / 1000 : 0;
  if (format == Format::json) {
    json::object o;
    o["school_id"] = config.school_id;
    o["agent_id"] = config.agent_id;
    o["version"] = kAgentVersion;
    o["store"] = config.store.path;
    o["store_bytes"] = store->file_bytes();
    o["last_upload_ok"] =
        last_ok_ms > 0 ? json::value(format_utc_ms(last_ok_ms)) : json::value(nullptr);
    o["last_upload_ok_ms"] = last_ok_ms;
    o["last_upload_error"] = last_error;
    o["clock_synchronised"] = clock.synchronised();
    json::object backlog{{"records", a->pending_records},
                         {"bytes", a->pending_bytes},
                         {"oldest_age_s", oldest_age_s}};
    o["backlog"] = std::move(backlog);
    json::object evicted;
    for (const auto& [k, v] : a->evicted) {
      evicted[k] = v;
    }
    o["counters"] =
        json::object{{"produced", a->produced},         {"acked", a->acked},
                     {"pending", a->pending_records},   {"evicted", a->evicted_total},
                     {"quarantined", a->quarantined},   {"evicted_by_kind", std::move(evicted)},
                     {"store_resets", a->store_resets}, {"batches_acked", a->batches_acked}};
    o["balanced"] = a->balanced();
    std::cout << json::serialize(o) << "\n";
    return kExitOk;
  }
  std::printf("school %s, agent %s (version %s)\n", config.school_id.c_str(),
              config.agent_id.c_str(), kAgentVersion);
  std::printf("last successful upload: %s\n",
              last_ok_ms > 0 ? format_utc_ms(last_ok_ms).c_str() : "never");
  if (!last_error.empty()) {
    std::printf("last upload error:      %s\n", last_error.c_str());
  }
  std::printf("backlog:                %llu records, %llu bytes, oldest %llds old\n",
              static_cast<unsigned long long>(a->pending_records),
              static_cast<unsigned long long>(a->pending_bytes),
              static_cast<long long>(oldest_age_s));
  std::printf(
      "records:                %llu produced = %llu acked + %llu pending + %llu evicted + %llu "
      "quarantined%s\n",
      static_cast<unsigned long long>(a->produced), static_cast<unsigned long long>(a->acked),
      static_cast<unsigned long long>(a->pending_records),
      static_cast<unsigned long long>(a->evicted_total),
      static_cast<unsigned long long>(a->quarantined), a->balanced() ? "" : "  (MISMATCH)");
  for (const auto& [k, v] : a->evicted) {
    std::printf("  evicted %-30s %llu\n", k.c_str(), static_cast<unsigned long long>(v));
  }
  std::printf("clock:                  %s\n",
              clock.synchronised() ? "synchronised" : "NOT synchronised");
  std::printf("store:                  %s (%llu bytes, %llu resets)\n", config.store.path.c_str(),
              static_cast<unsigned long long>(store->file_bytes()),
              static_cast<unsigned long long>(a->store_resets));
  return kExitOk;
}

}  // namespace schoolnet::app
