// Asks one address what it is over SNMP: the system group and ifNumber, trying each
// credential until one answers. Never throws and never stops a pass: a device that stays
// silent, answers garbage or answers with odd types is described as such.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "discovery/snmp.hpp"

namespace schoolnet::discovery {

using SessionOpener =
    std::function<Result<std::unique_ptr<SnmpSession>>(const SessionOptions&, const Credential&)>;

struct SnmpProblem {
  std::string table;   // "system", "ifTable", ...
  std::string reason;  // machine-readable: wrong_type, no_such_object, timeout, ...
  std::string detail;
};

struct SnmpSystem {
  std::string address;
  bool responded = false;
  std::string error;          // why nothing came back: no_answer, auth, ...
  int credential_index = -1;  // which of the configured credentials answered
  std::string sys_descr;      // raw bytes
  std::string sys_name;
  std::string sys_location;
  std::string sys_contact;
  Oid sys_object_id;
  uint64_t sys_uptime_ticks = 0;
  int64_t if_number = -1;
  std::string engine_id;  // snmpEngineID (raw), when the agent has one
  std::vector<SnmpProblem> problems;
};

struct DeviceQueryOptions {
  SessionOptions session;
  std::vector<Credential> credentials;
  int preferred_credential = -1;  // tried first (remembered from the last pass)
};

SnmpSystem query_system(const DeviceQueryOptions& options, const SessionOpener& open);

}  // namespace schoolnet::discovery
