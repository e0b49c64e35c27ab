#include "discovery/classify.hpp"

#include <algorithm>
#include <cctype>

#include <toml++/toml.h>

namespace schoolnet::discovery {

extern const char* const kBuiltinClassifyRules;  // generated from agent/data/classify.toml

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return lower(hay).find(lower(needle)) != std::string::npos;
}

// OID prefix match on whole arcs: "1.3.6.1.4.1.9.1" matches "1.3.6.1.4.1.9.1.1208" but not
// "1.3.6.1.4.1.9.12". A prefix written with a trailing '.' matches any deeper arc.
bool oid_prefix(std::string_view oid, std::string_view prefix) {
  if (oid.substr(0, prefix.size()) != prefix) {
    return false;
  }
  return oid.size() == prefix.size() || prefix.back() == '.' || oid[prefix.size()] == '.';
}

}  // namespace

const char* class_name(v1::DeviceClass c) {
  switch (c) {
    case v1::DEVICE_CLASS_SWITCH:
      return "switch";
    case v1::DEVICE_CLASS_ACCESS_POINT:
      return "access_point";
    case v1::DEVICE_CLASS_ROUTER:
      return "router";
    case v1::DEVICE_CLASS_PRINTER:
      return "printer";
    case v1::DEVICE_CLASS_UPS:
      return "ups";
    case v1::DEVICE_CLASS_SERVER:
      return "server";
    case v1::DEVICE_CLASS_DISPLAY:
      return "display";
    case v1::DEVICE_CLASS_CAMERA:
      return "camera";
    case v1::DEVICE_CLASS_PHONE:
      return "phone";
    case v1::DEVICE_CLASS_END_USER:
      return "end_user";
    default:
      return "unknown";
  }
}

bool parse_class_name(std::string_view name, v1::DeviceClass& out) {
  for (int c = v1::DeviceClass_MIN; c <= v1::DeviceClass_MAX; ++c) {
    if (name == class_name(static_cast<v1::DeviceClass>(c))) {
      out = static_cast<v1::DeviceClass>(c);
      return true;
    }
  }
  return false;
}

bool is_infrastructure(v1::DeviceClass c) {
  return c != v1::DEVICE_CLASS_END_USER && c != v1::DEVICE_CLASS_UNKNOWN;
}

Result<Classifier> Classifier::parse(std::string_view toml_text, std::string_view file_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, file_name);
  } catch (const toml::parse_error& e) {
    return make_error("rules_syntax", std::string(file_name) + ":" +
                                          std::to_string(e.source().begin.line) +
                                          ": TOML syntax error: " + std::string(e.description()));
  }
  Classifier c;
  auto where = [&](const toml::node& n, const std::string& key) {
    return std::string(file_name) + ":" + std::to_string(n.source().begin.line) + ": " + key;
  };
  for (auto&& [k, v] : root) {
    if (k.str() != "rule" || !v.is_array_of_tables()) {
      return make_error("rules_invalid",
                        where(v, std::string(k.str())) + ": expected [[rule]] tables only");
    }
  }
  const toml::array* rules = root["rule"].as_array();
  if (!rules) {
    return make_error("rules_invalid", std::string(file_name) + ": no [[rule]] tables");
  }
  for (size_t i = 0; i < rules->size(); ++i) {
    const toml::table& t = *(*rules)[i].as_table();
    Rule r;
    const std::string prefix = "rule[" + std::to_string(i) + "].";
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      if (key == "class") {
        if (!v.is_string() || !parse_class_name(v.as_string()->get(), r.device_class) ||
            r.device_class == v1::DEVICE_CLASS_UNKNOWN) {
          return make_error("rules_invalid", where(v, prefix + key) + ": not a device class");
        }
        continue;
      }
      std::vector<std::string>* list = key == "sys_object_id" ? &r.sys_object_id
                                       : key == "sys_descr"   ? &r.sys_descr
                                       : key == "has_oid"     ? &r.has_oid
                                       : key == "mdns_types"  ? &r.mdns_types
                                       : key == "txt"         ? &r.txt
                                       : key == "vendor"      ? &r.vendor
                                       : key == "hostname"    ? &r.hostname
                                                              : nullptr;
      if (!list) {
        return make_error("rules_invalid", where(v, prefix + key) + ": unknown key");
      }
      if (!v.is_array()) {
        return make_error("rules_invalid",
                          where(v, prefix + key) + ": expected an array of strings");
      }
      for (const toml::node& item : *v.as_array()) {
        if (!item.is_string()) {
          return make_error("rules_invalid", where(item, prefix + key) + ": expected strings");
        }
        list->push_back(item.as_string()->get());
      }
    }
    if (r.device_class == v1::DEVICE_CLASS_UNKNOWN) {
      return make_error("rules_invalid", where(t, prefix + "class") + ": missing");
    }
    c.rules_.push_back(std::move(r));
  }
  return c;
}

const Classifier& Classifier::builtin() {
  static const Classifier c = [] {
    auto parsed = parse(kBuiltinClassifyRules, "classify.toml (built in)");
    if (!parsed) {
      // The built-in file is tested; a failure here is a build defect.
      std::abort();
    }
    return std::move(*parsed);
  }();
  return c;
}

std::vector<std::string> Classifier::oid_roots() const {
  std::vector<std::string> out;
  for (const Rule& r : rules_) {
    for (const auto& o : r.has_oid) {
      if (std::find(out.begin(), out.end(), o) == out.end()) {
        out.push_back(o);
      }
    }
  }
  return out;
}

Classification Classifier::classify(const DeviceFacts& f) const {
  for (const Rule& r : rules_) {
    auto hit = [&](const std::string& evidence) {
      return Classification{r.device_class, evidence};
    };
    for (const auto& p : r.sys_object_id) {
      if (!f.sys_object_id.empty() && oid_prefix(f.sys_object_id, p)) {
        return hit("sysObjectID " + f.sys_object_id + " is under " + p);
      }
    }
    for (const auto& p : r.has_oid) {
      for (const auto& present : f.oids_present) {
        if (oid_prefix(present, p)) {
          return hit("answers under " + p);
        }
      }
    }
    for (const auto& t : r.mdns_types) {
      if (std::find(f.mdns_types.begin(), f.mdns_types.end(), t) != f.mdns_types.end()) {
        return hit("advertises " + t);
      }
    }
    for (const auto& needle : r.txt) {
      for (const auto& entry : f.txt) {
        if (contains_ci(entry, needle)) {
          return hit("TXT " + entry);
        }
      }
    }
    for (const auto& needle : r.sys_descr) {
      if (!f.sys_descr.empty() && contains_ci(f.sys_descr, needle)) {
        return hit("sysDescr mentions \"" + needle + "\"");
      }
    }
    for (const auto& needle : r.vendor) {
      if (!f.vendor.empty() && contains_ci(f.vendor, needle)) {
        return hit("vendor " + f.vendor);
      }
    }
    for (const auto& needle : r.hostname) {
      if (!f.hostname.empty() && contains_ci(f.hostname, needle)) {
        return hit("host name");
      }
    }
  }
  return {};
}

}  // namespace schoolnet::discovery
