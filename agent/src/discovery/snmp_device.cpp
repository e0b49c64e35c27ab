#include "discovery/snmp_device.hpp"

namespace schoolnet::discovery {

namespace {

const Oid kSysDescr = {1, 3, 6, 1, 2, 1, 1, 1, 0};
const Oid kSysObjectId = {1, 3, 6, 1, 2, 1, 1, 2, 0};
const Oid kSysUpTime = {1, 3, 6, 1, 2, 1, 1, 3, 0};
const Oid kSysContact = {1, 3, 6, 1, 2, 1, 1, 4, 0};
const Oid kSysName = {1, 3, 6, 1, 2, 1, 1, 5, 0};
const Oid kSysLocation = {1, 3, 6, 1, 2, 1, 1, 6, 0};
const Oid kIfNumber = {1, 3, 6, 1, 2, 1, 2, 1, 0};
const Oid kEngineId = {1, 3, 6, 1, 6, 3, 10, 2, 1, 1, 0};  // SNMP-FRAMEWORK-MIB snmpEngineID

const char* name_of(const Oid& o) {
  if (o == kSysDescr)
    return "sysDescr";
  if (o == kSysObjectId)
    return "sysObjectID";
  if (o == kSysUpTime)
    return "sysUpTime";
  if (o == kSysContact)
    return "sysContact";
  if (o == kSysName)
    return "sysName";
  if (o == kSysLocation)
    return "sysLocation";
  if (o == kIfNumber)
    return "ifNumber";
  return "?";
}

const char* type_name(VarType t) {
  switch (t) {
    case VarType::integer:
      return "INTEGER";
    case VarType::octets:
      return "OCTET STRING";
    case VarType::null:
      return "NULL";
    case VarType::oid:
      return "OBJECT IDENTIFIER";
    case VarType::ip_address:
      return "IpAddress";
    case VarType::counter32:
      return "Counter32";
    case VarType::gauge32:
      return "Gauge32";
    case VarType::timeticks:
      return "TimeTicks";
    case VarType::opaque:
      return "Opaque";
    case VarType::counter64:
      return "Counter64";
    case VarType::no_such_object:
      return "noSuchObject";
    case VarType::no_such_instance:
      return "noSuchInstance";
    case VarType::end_of_mib_view:
      return "endOfMibView";
    case VarType::other:
      break;
  }
  return "unknown type";
}

// Takes one varbind into the system description, checking its type column by column: a wrong
// type loses that column only.
void take(SnmpSystem& sys, const VarBind& v) {
  const char* column = name_of(v.oid);
  if (v.is_exception()) {
    return;  // the object is simply absent (sysLocation and sysContact often are)
  }
  auto wrong = [&](const char* expected) {
    sys.problems.push_back(
        {"system", "wrong_type",
         std::string(column) + " is " + type_name(v.type) + ", expected " + expected});
  };
  if (v.oid == kSysObjectId) {
    if (v.type != VarType::oid) {
      wrong("OBJECT IDENTIFIER");
      return;
    }
    sys.sys_object_id = v.oid_value;
    return;
  }
  if (v.oid == kSysUpTime) {
    if (v.type != VarType::timeticks) {
      wrong("TimeTicks");
      return;
    }
    sys.sys_uptime_ticks = v.unsigned_value;
    return;
  }
  if (v.oid == kIfNumber) {
    if (v.type != VarType::integer) {
      wrong("INTEGER");
      return;
    }
    sys.if_number = v.integer;
    return;
  }
  if (v.type != VarType::octets) {
    wrong("OCTET STRING");
    return;
  }
  if (v.oid == kEngineId) {
    sys.engine_id = v.bytes;
  } else if (v.oid == kSysDescr) {
    sys.sys_descr = v.bytes;
  } else if (v.oid == kSysName) {
    sys.sys_name = v.bytes;
  } else if (v.oid == kSysLocation) {
    sys.sys_location = v.bytes;
  } else if (v.oid == kSysContact) {
    sys.sys_contact = v.bytes;
  }
}

}  // namespace

SnmpSystem query_system(const DeviceQueryOptions& options, const SessionOpener& open) {
  SnmpSystem sys;
  sys.address = options.session.address;
  const std::vector<Oid> oids = {kSysDescr, kSysObjectId, kSysUpTime, kSysContact,
                                 kSysName,  kSysLocation, kIfNumber,  kEngineId};
  std::vector<int> order;
  if (options.preferred_credential >= 0 &&
      options.preferred_credential < static_cast<int>(options.credentials.size())) {
    order.push_back(options.preferred_credential);
  }
  for (int i = 0; i < static_cast<int>(options.credentials.size()); ++i) {
    if (i != options.preferred_credential) {
      order.push_back(i);
    }
  }
  std::string last_error = "no_answer";
  for (const int idx : order) {
    auto session = open(options.session, options.credentials[static_cast<size_t>(idx)]);
    if (!session) {
      last_error = session.error().code;
      continue;
    }
    auto got = (*session)->get(oids);
    if (!got && got.error().code == "no_such_name") {
      // SNMPv1 agents fail the whole request when one object is missing: ask one by one.
      std::vector<VarBind> each;
      for (const Oid& o : oids) {
        auto one = (*session)->get({o});
        if (one) {
          each.insert(each.end(), one->begin(), one->end());
        }
      }
      got = each;
    }
    if (!got) {
      last_error = got.error().code == "timeout" ? "no_answer" : got.error().code;
      continue;
    }
    sys.responded = true;
    sys.credential_index = idx;
    for (const VarBind& v : *got) {
      take(sys, v);
    }
    return sys;
  }
  sys.error = last_error;
  return sys;
}

}  // namespace schoolnet::discovery
