#include "support/pcap.hpp"

#include <arpa/inet.h>
#include <fstream>
#include <iterator>

namespace schoolnet::testing {

namespace {

uint32_t rd32(const uint8_t* p, bool swap) {
  uint32_t v = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
               (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  return swap ? __builtin_bswap32(v) : v;
}

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

void from_ip(const uint8_t* p, size_t n, std::vector<UdpPacket>& out) {
  if (n < 1) {
    return;
  }
  const int version = p[0] >> 4;
  size_t header = 0;
  uint8_t proto = 0;
  std::string source;
  char buf[INET6_ADDRSTRLEN];
  if (version == 4) {
    header = static_cast<size_t>(p[0] & 0x0F) * 4;
    if (n < 20 || header < 20 || n < header) {
      return;
    }
    proto = p[9];
    inet_ntop(AF_INET, p + 12, buf, sizeof buf);
    source = buf;
  } else if (version == 6) {
    header = 40;
    if (n < header) {
      return;
    }
    proto = p[6];
    inet_ntop(AF_INET6, p + 8, buf, sizeof buf);
    source = buf;
  } else {
    return;
  }
  if (proto != 17 || n < header + 8) {
    return;
  }
  const uint8_t* udp = p + header;
  UdpPacket pkt;
  pkt.source = source;
  pkt.source_port = be16(udp);
  pkt.dest_port = be16(udp + 2);
  // Use what the frame holds, not the UDP length field: some captures carry a wrong one.
  pkt.payload.assign(udp + 8, p + n);
  out.push_back(std::move(pkt));
}

}  // namespace

std::vector<UdpPacket> read_udp_payloads(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<UdpPacket> out;
  if (data.size() < 24) {
    out.push_back({"", 0, 0, data});
    return out;
  }
  const uint32_t magic = rd32(data.data(), false);
  bool swap = false;
  if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
    swap = false;
  } else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
    swap = true;
  } else {
    out.push_back({"", 0, 0, data});
    return out;
  }
  const uint32_t linktype = rd32(data.data() + 20, swap);
  size_t pos = 24;
  while (pos + 16 <= data.size()) {
    const uint32_t incl = rd32(data.data() + pos + 8, swap);
    pos += 16;
    if (incl > data.size() - pos) {
      break;
    }
    const uint8_t* frame = data.data() + pos;
    size_t n = incl;
    pos += incl;
    size_t skip = 0;
    if (linktype == 1) {  // Ethernet, with optional 802.1Q tags
      skip = 14;
      while (n >= skip && skip >= 4 && be16(frame + skip - 2) == 0x8100) {
        skip += 4;
      }
    } else if (linktype == 113) {  // Linux cooked
      skip = 16;
    } else if (linktype == 0) {  // BSD loopback
      skip = 4;
    } else if (linktype == 101) {  // raw IP
      skip = 0;
    } else {
      continue;
    }
    if (n < skip) {
      continue;
    }
    from_ip(frame + skip, n - skip, out);
  }
  return out;
}

}  // namespace schoolnet::testing
