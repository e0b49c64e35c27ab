// What the kernel knows about the box's own network: its IPv4 interfaces and the neighbour
// (ARP) table, read over rtnetlink.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace schoolnet::discovery {

struct LocalInterface {
  std::string name;
  std::string address;  // IPv4
  int prefix_len = 0;
  int index = 0;
};

// Up, non-loopback interfaces with an IPv4 address.
std::vector<LocalInterface> local_interfaces();

struct Neighbour {
  std::string address;  // IPv4
  std::string mac;      // 6 raw bytes
  std::string interface;
  uint16_t state = 0;  // NUD_* flags
};

// The kernel's IPv4 neighbour table: entries with a link-layer address (reachable, stale,
// delay, probe, permanent); incomplete and failed entries are left out.
Result<std::vector<Neighbour>> neighbour_table();

// Sends one empty UDP datagram to port 9 (discard) of each address, so that the kernel resolves
// their link-layer addresses into the neighbour table. Only for addresses already found on the
// box's own subnets.
void prompt_neighbour_resolution(const std::vector<std::string>& addresses);

// The IPv4 default gateway from the kernel's routing table; empty when there is none.
std::string default_gateway(const std::string& route_file = "/proc/net/route");

// True when `address` lies inside one of the interfaces' subnets.
bool on_local_subnet(const std::string& address, const std::vector<LocalInterface>& interfaces);

}  // namespace schoolnet::discovery
