#include "discovery/netinfo.hpp"

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <ifaddrs.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

namespace schoolnet::discovery {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) {
      close(fd);
    }
  }
};

uint32_t to_host(const std::string& addr) {
  in_addr a{};
  if (inet_pton(AF_INET, addr.c_str(), &a) != 1) {
    return 0;
  }
  return ntohl(a.s_addr);
}

}  // namespace

std::vector<LocalInterface> local_interfaces() {
  std::vector<LocalInterface> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return out;
  }
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
        (i->ifa_flags & IFF_LOOPBACK)) {
      continue;
    }
    LocalInterface li;
    li.name = i->ifa_name;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
    li.address = buf;
    if (i->ifa_netmask) {
      const uint32_t mask = ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_netmask)->sin_addr.s_addr);
      li.prefix_len = __builtin_popcount(mask);
    }
    li.index = static_cast<int>(if_nametoindex(i->ifa_name));
    out.push_back(li);
  }
  freeifaddrs(list);
  return out;
}

bool on_local_subnet(const std::string& address, const std::vector<LocalInterface>& interfaces) {
  const uint32_t a = to_host(address);
  if (a == 0) {
    return false;
  }
  for (const auto& i : interfaces) {
    if (i.prefix_len <= 0 || i.prefix_len > 32) {
      continue;
    }
    const uint32_t mask = i.prefix_len == 32 ? ~0u : ~((1u << (32 - i.prefix_len)) - 1);
    if ((a & mask) == (to_host(i.address) & mask)) {
      return true;
    }
  }
  return false;
}

Result<std::vector<Neighbour>> neighbour_table() {
  Fd sock{socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)};
  if (sock.fd < 0) {
    return make_error("netlink", std::string("socket: ") + std::strerror(errno));
  }
  struct {
    nlmsghdr hdr;
    ndmsg msg;
  } req{};
  req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  req.hdr.nlmsg_type = RTM_GETNEIGH;
  req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.hdr.nlmsg_seq = 1;
  req.msg.ndm_family = AF_INET;
  if (send(sock.fd, &req, req.hdr.nlmsg_len, 0) < 0) {
    return make_error("netlink", std::string("send: ") + std::strerror(errno));
  }
  std::vector<Neighbour> out;
  std::array<char, 32768> buf{};
  for (;;) {
    const ssize_t n = recv(sock.fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_error("netlink", std::string("recv: ") + std::strerror(errno));
    }
    if (n == 0) {
      return out;
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) {
        return out;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        return make_error("netlink", "neighbour dump refused");
      }
      if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) {
        continue;
      }
      const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(h));
      if (nd->ndm_family != AF_INET ||
          (nd->ndm_state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP))) {
        continue;
      }
      Neighbour nb;
      nb.state = nd->ndm_state;
      char ifname[IF_NAMESIZE] = {0};
      if (if_indextoname(static_cast<unsigned>(nd->ndm_ifindex), ifname)) {
        nb.interface = ifname;
      }
      int attr_len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(ndmsg)));
      for (auto* a = reinterpret_cast<rtattr*>(const_cast<ndmsg*>(nd) + 1); RTA_OK(a, attr_len);
           a = RTA_NEXT(a, attr_len)) {
        const size_t payload = RTA_PAYLOAD(a);
        if (a->rta_type == NDA_DST && payload == 4) {
          char ip[INET_ADDRSTRLEN];
          inet_ntop(AF_INET, RTA_DATA(a), ip, sizeof ip);
          nb.address = ip;
        } else if (a->rta_type == NDA_LLADDR && payload == 6) {
          nb.mac.assign(static_cast<const char*>(RTA_DATA(a)), 6);
        }
      }
      if (!nb.address.empty() && nb.mac.size() == 6) {
        out.push_back(std::move(nb));
      }
    }
  }
}

std::string default_gateway(const std::string& route_file) {
  std::ifstream in(route_file);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string iface, dest, gw;
    if (!(fields >> iface >> dest >> gw)) {
      continue;
    }
    if (dest != "00000000" || gw == "00000000") {
      continue;
    }
    // The kernel prints the address as a host-order hex word; on little-endian machines the
    // first octet is in the low byte.
    const uint32_t raw = static_cast<uint32_t>(std::strtoul(gw.c_str(), nullptr, 16));
    in_addr a{};
    a.s_addr = raw;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
  }
  return {};
}

void prompt_neighbour_resolution(const std::vector<std::string>& addresses) {
  Fd sock{socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) {
    return;
  }
  for (const std::string& a : addresses) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    if (inet_pton(AF_INET, a.c_str(), &to.sin_addr) != 1) {
      continue;
    }
    (void)sendto(sock.fd, "", 0, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
}

}  // namespace schoolnet::discovery
