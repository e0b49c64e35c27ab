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

// A v2c GET of sysObjectID.0 for `community`, encoded by net-snmp.
std::vector<uint8_t> build_get(const std::string& community, long request_id) {
  netsnmp_session s;
  snmp_sess_init(&s);
  s.version = SNMP_VERSION_2c;
  std::string c = community;
  s.community = reinterpret_cast<u_char*>(c.data());
  s.community_len = c.size();
  netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_GET);
  // snmp_build() takes version and community from the PDU (snmp_send would copy them from the
  // session); snmp_free_pdu() frees the copy.
  pdu->version = SNMP_VERSION_2c;
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

std::optional<std::string> message_community(const uint8_t* data, size_t size) {
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
  return std::string(reinterpret_cast<const char*>(community.data()), community_len);
}

SweepResult sweep(const SweepOptions& options) {
  SweepResult r;
  const int64_t start = now_ms();
  if (options.addresses.empty() || options.communities.empty()) {
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
        if (options.communities[c] == *community) {
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
