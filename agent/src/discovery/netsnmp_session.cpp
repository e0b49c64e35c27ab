// net-snmp behind SnmpSession, through its single-session API (snmp_sess_*), which keeps no
// process-wide session list and so lets worker threads ask different devices at once.
#include <cstdlib>
#include <mutex>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "discovery/snmp.hpp"
#include "discovery/v3_helper.hpp"

namespace schoolnet::discovery {

namespace {}  // namespace

void init_netsnmp() {
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

namespace {

std::mutex& v3_mutex() {
  static std::mutex m;
  return m;
}

// Forgets every engine's boots and time and every localized USM user.
void reset_usm_state() {
  free_etimelist();
  while (struct usmUser* u = usm_get_userList()) {
    usm_remove_user(u);
    usm_free_user(u);
  }
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
  NetSnmpSession(void* handle, std::unique_lock<std::mutex> v3_lock)
      : handle_(handle), v3_lock_(std::move(v3_lock)) {}
  ~NetSnmpSession() override {
    snmp_sess_close(handle_);
    if (v3_lock_.owns_lock()) {
      reset_usm_state();  // leave nothing of this device for the next one
    }
  }

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
  std::unique_lock<std::mutex> v3_lock_;
};

}  // namespace

Result<std::unique_ptr<SnmpSession>> open_netsnmp(const SessionOptions& options,
                                                  const Credential& credential) {
  if (credential.version == SnmpVersion::v3 && !v3_helper_path().empty()) {
    return open_v3_in_helper(options, credential);
  }
  return open_netsnmp_in_process(options, credential);
}

Result<std::unique_ptr<SnmpSession>> open_netsnmp_in_process(const SessionOptions& options,
                                                             const Credential& credential) {
  init_netsnmp();
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
      s.version = SNMP_VERSION_3;
      break;
  }
  std::unique_lock<std::mutex> v3_lock;
  std::string user = credential.user;
  if (credential.version == SnmpVersion::v3) {
    // net-snmp keeps engine boots/time and localized users in process-wide lists keyed by
    // engine ID. Devices that share an engine ID, or one that rebooted with its boots back at
    // zero, would corrupt each other's entries; so v3 sessions in one process run one at a
    // time, each on a clean slate that it discovers for itself. (The agent runs them in helper
    // processes instead, see v3_helper.hpp, where this lock is never contended.)
    v3_lock = std::unique_lock<std::mutex>(v3_mutex());
    reset_usm_state();
    s.securityName = user.data();
    s.securityNameLen = user.size();
    const bool sha256 = credential.auth_protocol == "SHA-256";
    s.securityAuthProto = sha256 ? usmHMAC192SHA256AuthProtocol : usmHMACSHA1AuthProtocol;
    s.securityAuthProtoLen =
        sha256 ? OID_LENGTH(usmHMAC192SHA256AuthProtocol) : OID_LENGTH(usmHMACSHA1AuthProtocol);
    s.securityAuthKeyLen = USM_AUTH_KU_LEN;
    if (generate_Ku(s.securityAuthProto, static_cast<u_int>(s.securityAuthProtoLen),
                    reinterpret_cast<const u_char*>(credential.auth_key.data()),
                    credential.auth_key.size(), s.securityAuthKey,
                    &s.securityAuthKeyLen) != SNMPERR_SUCCESS) {
      return make_error("auth", "cannot derive the SNMPv3 authentication key");
    }
    s.securityLevel = SNMP_SEC_LEVEL_AUTHNOPRIV;
    if (!credential.priv_protocol.empty() && credential.priv_protocol != "none") {
      s.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
      s.securityPrivProto = usmAESPrivProtocol;
      s.securityPrivProtoLen = OID_LENGTH(usmAESPrivProtocol);
      s.securityPrivKeyLen = USM_PRIV_KU_LEN;
      if (generate_Ku(s.securityAuthProto, static_cast<u_int>(s.securityAuthProtoLen),
                      reinterpret_cast<const u_char*>(credential.priv_key.data()),
                      credential.priv_key.size(), s.securityPrivKey,
                      &s.securityPrivKeyLen) != SNMPERR_SUCCESS) {
        return make_error("auth", "cannot derive the SNMPv3 privacy key");
      }
    }
  }
  s.community = reinterpret_cast<u_char*>(community.data());
  s.community_len = community.size();
  void* handle = snmp_sess_open(&s);
  if (!handle) {
    // For v3 the open already talked to the device (engine ID discovery): no answer lands here.
    return make_error(credential.version == SnmpVersion::v3 ? "timeout" : "internal",
                      "cannot open an SNMP session to " + options.address);
  }
  return std::unique_ptr<SnmpSession>(std::make_unique<NetSnmpSession>(handle, std::move(v3_lock)));
}

}  // namespace schoolnet::discovery
