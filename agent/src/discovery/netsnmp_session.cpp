// net-snmp behind SnmpSession, through its single-session API (snmp_sess_*), which keeps no
// process-wide session list and so lets worker threads ask different devices at once.
#include <cstdlib>
#include <mutex>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "discovery/snmp.hpp"

namespace schoolnet::discovery {

namespace {

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    // No MIB files (we use numeric OIDs only), no config files read, nothing persisted to
    // /var/lib/snmp: the agent owns its state.
    setenv("MIBS", "", 1);
    setenv("MIBDIRS", "/nonexistent", 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_QUICK_PRINT, 1);
    snmp_disable_log();
    init_snmp("schoolnet-agent");
  });
}

VarType map_type(u_char t) {
  switch (t) {
    case ASN_INTEGER:
      return VarType::integer;
    case ASN_OCTET_STR:
      return VarType::octets;
    case ASN_NULL:
      return VarType::null;
    case ASN_OBJECT_ID:
      return VarType::oid;
    case ASN_IPADDRESS:
      return VarType::ip_address;
    case ASN_COUNTER:
      return VarType::counter32;
    case ASN_GAUGE:
      return VarType::gauge32;
    case ASN_TIMETICKS:
      return VarType::timeticks;
    case ASN_OPAQUE:
      return VarType::opaque;
    case ASN_COUNTER64:
      return VarType::counter64;
    case SNMP_NOSUCHOBJECT:
      return VarType::no_such_object;
    case SNMP_NOSUCHINSTANCE:
      return VarType::no_such_instance;
    case SNMP_ENDOFMIBVIEW:
      return VarType::end_of_mib_view;
    default:
      return VarType::other;
  }
}

VarBind convert(const netsnmp_variable_list* v) {
  VarBind b;
  b.oid.assign(v->name, v->name + v->name_length);
  b.type = map_type(v->type);
  switch (b.type) {
    case VarType::integer:
      if (v->val.integer && v->val_len >= sizeof(long)) {
        b.integer = *v->val.integer;
      }
      break;
    case VarType::counter32:
    case VarType::gauge32:
    case VarType::timeticks:
      if (v->val.integer && v->val_len >= sizeof(long)) {
        // Unsigned 32-bit on the wire; net-snmp stores it in a long.
        b.unsigned_value = static_cast<uint64_t>(static_cast<uint32_t>(*v->val.integer));
        b.integer = static_cast<int64_t>(b.unsigned_value);
      }
      break;
    case VarType::counter64:
      if (v->val.counter64 && v->val_len >= sizeof(counter64)) {
        b.unsigned_value = (static_cast<uint64_t>(v->val.counter64->high) << 32) |
                           static_cast<uint32_t>(v->val.counter64->low);
        b.integer = static_cast<int64_t>(b.unsigned_value);
      }
      break;
    case VarType::octets:
    case VarType::ip_address:
    case VarType::opaque:
      if (v->val.string && v->val_len > 0) {
        b.bytes.assign(reinterpret_cast<const char*>(v->val.string), v->val_len);
      }
      break;
    case VarType::oid:
      if (v->val.objid) {
        const size_t n = v->val_len / sizeof(oid);
        b.oid_value.assign(v->val.objid, v->val.objid + n);
      }
      break;
    default:
      break;
  }
  return b;
}

struct PduDeleter {
  void operator()(netsnmp_pdu* p) const { snmp_free_pdu(p); }
};
using PduPtr = std::unique_ptr<netsnmp_pdu, PduDeleter>;

class NetSnmpSession final : public SnmpSession {
 public:
  explicit NetSnmpSession(void* handle) : handle_(handle) {}
  ~NetSnmpSession() override { snmp_sess_close(handle_); }

  Result<std::vector<VarBind>> get(const std::vector<Oid>& oids) override {
    return request(SNMP_MSG_GET, oids, 0);
  }
  Result<std::vector<VarBind>> get_next(const std::vector<Oid>& oids) override {
    return request(SNMP_MSG_GETNEXT, oids, 0);
  }
  Result<std::vector<VarBind>> get_bulk(const Oid& oid, int max_repetitions) override {
    return request(SNMP_MSG_GETBULK, {oid}, max_repetitions);
  }

 private:
  Result<std::vector<VarBind>> request(int type, const std::vector<Oid>& oids, int max_reps) {
    netsnmp_pdu* pdu = snmp_pdu_create(type);
    if (!pdu) {
      return make_error("internal", "cannot create a PDU");
    }
    if (type == SNMP_MSG_GETBULK) {
      pdu->non_repeaters = 0;
      pdu->max_repetitions = max_reps;
    }
    for (const Oid& o : oids) {
      std::vector<oid> raw(o.begin(), o.end());
      snmp_add_null_var(pdu, raw.data(), raw.size());
    }
    netsnmp_pdu* response = nullptr;
    const int status = snmp_sess_synch_response(handle_, pdu, &response);  // frees pdu
    PduPtr owned(response);
    if (status == STAT_TIMEOUT) {
      return make_error("timeout", "no answer");
    }
    if (status != STAT_SUCCESS || !response) {
      int liberr = 0, syserr = 0;
      char* msg = nullptr;
      snmp_sess_error(handle_, &liberr, &syserr, &msg);
      std::string text = msg ? msg : "request failed";
      free(msg);
      if (liberr == SNMPERR_AUTHENTICATION_FAILURE || liberr == SNMPERR_UNKNOWN_USER_NAME ||
          liberr == SNMPERR_USM_AUTHENTICATIONFAILURE ||
          liberr == SNMPERR_USM_UNKNOWNSECURITYNAME || liberr == SNMPERR_USM_DECRYPTIONERROR ||
          liberr == SNMPERR_USM_UNSUPPORTEDSECURITYLEVEL) {
        return make_error("auth", text);
      }
      if (liberr == SNMPERR_TIMEOUT) {
        return make_error("timeout", text);
      }
      return make_error("send", text);
    }
    if (response->errstat != SNMP_ERR_NOERROR) {
      switch (response->errstat) {
        case SNMP_ERR_TOOBIG:
          return make_error("too_big", "response would be too big");
        case SNMP_ERR_NOSUCHNAME:
          return make_error("no_such_name",
                            "noSuchName (index " + std::to_string(response->errindex) + ")");
        case SNMP_ERR_GENERR:
          return make_error("gen_err", "genErr");
        default:
          return make_error("bad_value", "error status " + std::to_string(response->errstat));
      }
    }
    std::vector<VarBind> out;
    for (const netsnmp_variable_list* v = response->variables; v; v = v->next_variable) {
      out.push_back(convert(v));
    }
    return out;
  }

  void* handle_;
};

}  // namespace

Result<std::unique_ptr<SnmpSession>> open_netsnmp(const SessionOptions& options,
                                                  const Credential& credential) {
  init_library();
  netsnmp_session s;
  snmp_sess_init(&s);
  const std::string peer = "udp:" + options.address + ":" + std::to_string(options.port);
  s.peername = const_cast<char*>(peer.c_str());
  s.timeout = static_cast<long>(options.timeout_ms) * 1000;
  s.retries = options.retries;
  std::string community = credential.community;
  switch (credential.version) {
    case SnmpVersion::v1:
      s.version = SNMP_VERSION_1;
      break;
    case SnmpVersion::v2c:
      s.version = SNMP_VERSION_2c;
      break;
    case SnmpVersion::v3:
      return make_error("unsupported", "SNMPv3 is not supported yet");
  }
  s.community = reinterpret_cast<u_char*>(community.data());
  s.community_len = community.size();
  void* handle = snmp_sess_open(&s);
  if (!handle) {
    return make_error("internal", "cannot open an SNMP session to " + options.address);
  }
  return std::unique_ptr<SnmpSession>(std::make_unique<NetSnmpSession>(handle));
}

}  // namespace schoolnet::discovery
