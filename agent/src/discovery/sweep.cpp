#include "discovery/sweep.hpp"

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "discovery/snmp.hpp"

namespace schoolnet::discovery {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A v1 or v2c GET of sysObjectID.0 for the credential's community, encoded by net-snmp.
std::vector<uint8_t> build_get(const Credential& credential, long request_id) {
  const long version = credential.version == SnmpVersion::v1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
  netsnmp_session s;
  snmp_sess_init(&s);
  s.version = version;
  std::string c = credential.community;
  s.community = reinterpret_cast<u_char*>(c.data());
  s.community_len = c.size();
  netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_GET);
  // snmp_build() takes version and community from the PDU (snmp_send would copy them from the
  // session); snmp_free_pdu() frees the copy.
  pdu->version = version;
  pdu->community = static_cast<u_char*>(malloc(c.size() + 1));
  std::memcpy(pdu->community, c.c_str(), c.size() + 1);
  pdu->community_len = c.size();
  pdu->reqid = request_id;
  pdu->msgid = request_id;
  const oid sys_object_id[] = {1, 3, 6, 1, 2, 1, 1, 2, 0};
  snmp_add_null_var(pdu, sys_object_id, sizeof sys_object_id / sizeof sys_object_id[0]);
  size_t len = 256;
  size_t offset = 0;
  auto* buf = static_cast<u_char*>(malloc(len));
  std::vector<uint8_t> out;
  if (buf && snmp_build(&buf, &len, &offset, &s, pdu) == 0 && offset > 0 && offset <= len) {
    // With reverse encoding (net-snmp's default) the message ends at the buffer's end.
    const bool reverse =
        netsnmp_ds_get_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_REVERSE_ENCODE) != 0;
    const u_char* start = reverse ? buf + len - offset : buf;
    out.assign(start, start + offset);
  }
  free(buf);
  snmp_free_pdu(pdu);
  return out;
}

}  // namespace

std::optional<MessageHeader> message_community(const uint8_t* data, size_t size) {
  if (!data || size == 0 || size > 65535) {
    return std::nullopt;
  }
  std::vector<u_char> copy(data, data + size);  // net-snmp's decoder takes non-const bytes
  u_char* p = copy.data();
  size_t left = copy.size();
  u_char type = 0;
  p = asn_parse_sequence(p, &left, &type, ASN_SEQUENCE | ASN_CONSTRUCTOR, "message");
  if (!p) {
    return std::nullopt;
  }
  long version = -1;
  p = asn_parse_int(p, &left, &type, &version, sizeof version);
  if (!p || (version != SNMP_VERSION_1 && version != SNMP_VERSION_2c)) {
    return std::nullopt;
  }
  std::array<u_char, 256> community{};
  size_t community_len = community.size();
  p = asn_parse_string(p, &left, &type, community.data(), &community_len);
  if (!p || type != ASN_OCTET_STR) {
    return std::nullopt;
  }
  return MessageHeader{version == SNMP_VERSION_1 ? SnmpVersion::v1 : SnmpVersion::v2c,
                       std::string(reinterpret_cast<const char*>(community.data()), community_len)};
}

std::string why_unanswered(const std::string& address, uint16_t port, const Credential& community,
                           int64_t wait_ms) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &to.sin_addr) != 1) {
    return "no_answer";
  }
  init_netsnmp();
  const std::vector<uint8_t> pkt = build_get(community, 0x5cff);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || pkt.empty()) {
    if (fd >= 0) {
      close(fd);
    }
    return "no_answer";
  }
  // Connected: the kernel hands over only datagrams from that address and port.
  std::string verdict = "no_answer";
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
      send(fd, pkt.data(), pkt.size(), 0) >= 0) {
    std::array<uint8_t, 4096> buf{};
    const int64_t until = now_ms() + wait_ms;
    while (now_ms() < until) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::max<int64_t>(0, until - now_ms()))) <= 0) {
        continue;
      }
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      if (n < 0) {
        break;  // ICMP port unreachable and the like: nobody is listening
      }
      auto header = message_community(buf.data(), static_cast<size_t>(n));
      if (!header || header->community != community.community) {
        verdict = "bad_response";
      } else {
        verdict = "no_answer";  // a proper reply this time: it was only slow or lossy
      }
      break;
    }
  }
  close(fd);
  return verdict;
}

SweepResult sweep(const SweepOptions& options) {
  SweepResult r;
  const int64_t start = now_ms();
  if (options.addresses.empty()) {
    return r;
  }
  init_netsnmp();
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    r.error = std::string("socket: ") + std::strerror(errno);
    return r;
  }
  std::vector<std::vector<uint8_t>> packets;
  for (size_t c = 0; c < options.communities.size(); ++c) {
    packets.push_back(build_get(options.communities[c], static_cast<long>(0x5c00 + c)));
    if (packets.back().empty()) {
      r.error = "could not encode an SNMP request";
      close(fd);
      return r;
    }
  }
  if (packets.empty()) {
    packets.emplace_back();  // no community: an empty datagram still resolves the address
  }
  std::array<uint8_t, 4096> buf{};
  auto drain = [&] {
    for (;;) {
      sockaddr_in from{};
      socklen_t from_len = sizeof from;
      const ssize_t n =
          recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        return;
      }
      ++r.replies;
      auto community = message_community(buf.data(), static_cast<size_t>(n));
      char addr[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &from.sin_addr, addr, sizeof addr);
      if (!community || ntohs(from.sin_port) != 161) {
        ++r.unreadable_replies;
        continue;
      }
      for (size_t c = 0; c < options.communities.size(); ++c) {
        const Credential& cred = options.communities[c];
        if (cred.community == community->community && cred.version == community->version) {
          r.responders.emplace(addr, static_cast<int>(c));  // the first that answered wins
          break;
        }
      }
    }
  };
  const double gap_ms =
      1000.0 / static_cast<double>(std::max<int64_t>(1, options.packets_per_second));
  const int64_t t0 = now_ms();
  for (const std::string& a : options.addresses) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(161);
    if (inet_pton(AF_INET, a.c_str(), &to.sin_addr) != 1) {
      continue;
    }
    for (const auto& pkt : packets) {
      // Pace by the schedule, not by sleeping a fixed gap, so slow sends do not add up.
      const int64_t due = t0 + static_cast<int64_t>(static_cast<double>(r.packets_sent) * gap_ms);
      while (now_ms() < due) {
        pollfd p{fd, POLLIN, 0};
        (void)poll(&p, 1, static_cast<int>(std::max<int64_t>(0, due - now_ms())));
        drain();
      }
      if (sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0) {
        ++r.packets_sent;
      }
    }
  }
  const int64_t until = now_ms() + options.linger_ms;
  while (now_ms() < until) {
    pollfd p{fd, POLLIN, 0};
    (void)poll(&p, 1, static_cast<int>(std::max<int64_t>(0, until - now_ms())));
    drain();
  }
  close(fd);
  r.duration_ms = now_ms() - start;
  return r;
}

}  // namespace schoolnet::discovery
