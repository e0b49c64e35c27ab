// SNMP as the discovery code sees it: OIDs, varbinds and a session interface. net-snmp sits
// behind NetSnmpSession (its headers stay out of this file), so walks and decisions can be
// tested against scripted sessions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace schoolnet::discovery {

using Oid = std::vector<uint32_t>;

Oid parse_oid(
    std::string_view dotted);  // "1.3.6.1.2.1.1.1.0" (leading '.' allowed); empty on error
std::string format_oid(const Oid& oid);
bool oid_starts_with(const Oid& oid, const Oid& prefix);
// -1, 0, 1 as a is before, equal to or after b in lexicographic OID order.
int oid_compare(const Oid& a, const Oid& b);

enum class VarType : uint8_t {
  integer,
  octets,
  null,
  oid,
  ip_address,
  counter32,
  gauge32,
  timeticks,
  opaque,
  counter64,
  no_such_object,
  no_such_instance,
  end_of_mib_view,
  other,
};

struct VarBind {
  Oid oid;
  VarType type = VarType::null;
  std::string bytes;    // octets, ip_address (4 bytes), opaque
  int64_t integer = 0;  // integer (signed), counter32, gauge32, timeticks, counter64 (as uint)
  uint64_t unsigned_value = 0;
  Oid oid_value;  // oid

  bool is_exception() const {
    return type == VarType::no_such_object || type == VarType::no_such_instance ||
           type == VarType::end_of_mib_view;
  }
};

enum class SnmpVersion { v1, v2c, v3 };

struct Credential {
  SnmpVersion version = SnmpVersion::v2c;
  std::string community;  // v1/v2c
  // v3 (USM)
  std::string user;
  std::string auth_protocol;  // "", SHA, SHA-256
  std::string auth_key;
  std::string priv_protocol;  // "", AES, AES-128
  std::string priv_key;

  // A description safe for logs and inventory ("v2c community #2", "v3 user ops").
  std::string describe() const;
};

struct SessionOptions {
  std::string address;  // IPv4 literal
  uint16_t port = 161;
  int64_t timeout_ms = 1000;
  int retries = 1;
};

// Error codes: timeout, too_big, auth (v3 report), no_such_name (v1), gen_err, bad_value,
// send, internal. A timeout also covers a wrong community: agents stay silent then.
class SnmpSession {
 public:
  virtual ~SnmpSession() = default;
  virtual Result<std::vector<VarBind>> get(const std::vector<Oid>& oids) = 0;
  virtual Result<std::vector<VarBind>> get_next(const std::vector<Oid>& oids) = 0;
  virtual Result<std::vector<VarBind>> get_bulk(const Oid& oid, int max_repetitions) = 0;
};

// Initialises net-snmp once per process: numeric OIDs only, no MIB or config files read,
// nothing persisted under /var/lib/snmp. Every user of the library calls this first.
void init_netsnmp();

// Opens a net-snmp session. net-snmp's library is initialised once per process on first use.
// A v3 session runs in a helper process when one is configured (v3_helper.hpp).
Result<std::unique_ptr<SnmpSession>> open_netsnmp(const SessionOptions& options,
                                                  const Credential& credential);
// The same, always in this process (v3 sessions then run one at a time).
Result<std::unique_ptr<SnmpSession>> open_netsnmp_in_process(const SessionOptions& options,
                                                             const Credential& credential);

}  // namespace schoolnet::discovery
