// Reads the UDP payloads out of classic pcap captures (Ethernet, Linux cooked or BSD loopback
// link types; IPv4 and IPv6), for replaying real mDNS traffic into the parsers. Test code, but
// the captures are still untrusted input: every length is checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace schoolnet::testing {

struct UdpPacket {
  std::string source;  // address text
  uint16_t source_port = 0;
  uint16_t dest_port = 0;
  std::vector<uint8_t> payload;
};

// All UDP payloads of the capture, in order. A file that is not a pcap is read as one raw
// payload (the .mdns captures are bare DNS messages).
std::vector<UdpPacket> read_udp_payloads(const std::string& path);

}  // namespace schoolnet::testing
