// Device classification by explicit rules kept in a data file (agent/data/classify.toml,
// compiled in as the default). First matching rule wins; the evidence that decided is kept so
// the inventory can say why a device is what it is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::discovery {

struct DeviceFacts {
  std::string sys_object_id;              // dotted
  std::string sys_descr;                  // display-safe
  std::vector<std::string> oids_present;  // dotted prefixes the device answered under
  std::vector<std::string> mdns_types;    // "_ipp._tcp"
  std::vector<std::string> txt;           // "key=value"
  std::string vendor;
  std::string hostname;
};

struct Classification {
  v1::DeviceClass device_class = v1::DEVICE_CLASS_UNKNOWN;
  std::string
      evidence;  // "sysObjectID 1.3.6.1.4.1.2435.2.3.9.1 starts with 1.3.6.1.4.1.2435.2.3.9"
};

class Classifier {
 public:
  // Parses rules; errors name the file, line and key.
  static Result<Classifier> parse(std::string_view toml_text, std::string_view file_name);
  // The rules compiled into the agent.
  static const Classifier& builtin();

  Classification classify(const DeviceFacts& facts) const;
  size_t rule_count() const { return rules_.size(); }
  // Every has_oid root the rules mention: discovery checks these for presence.
  std::vector<std::string> oid_roots() const;

 private:
  struct Rule {
    v1::DeviceClass device_class = v1::DEVICE_CLASS_UNKNOWN;
    std::vector<std::string> sys_object_id;
    std::vector<std::string> sys_descr;
    std::vector<std::string> has_oid;
    std::vector<std::string> mdns_types;
    std::vector<std::string> txt;
    std::vector<std::string> vendor;
    std::vector<std::string> hostname;
  };
  std::vector<Rule> rules_;
};

const char* class_name(v1::DeviceClass c);
bool parse_class_name(std::string_view name, v1::DeviceClass& out);
// Infrastructure is reported in full; everything else only as pseudonyms (DESIGN.md, Privacy).
bool is_infrastructure(v1::DeviceClass c);

}  // namespace schoolnet::discovery
