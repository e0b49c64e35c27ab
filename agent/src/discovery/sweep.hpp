// The active sweep: one SNMP GET (sysObjectID.0) per community to every address of the swept
// subnets, paced to a packet rate, from one UDP socket, collecting who answers. It finds the
// SNMP agents in a subnet in seconds instead of waiting out a timeout per silent address, and
// on the box's own subnets it fills the kernel's neighbour table as a side effect.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace schoolnet::discovery {

struct SweepOptions {
  std::vector<std::string> addresses;    // IPv4
  std::vector<std::string> communities;  // v2c, tried all at once
  int64_t packets_per_second = 50;
  int64_t linger_ms = 1000;  // how long to listen after the last packet
};

struct SweepResult {
  std::map<std::string, int> responders;  // address -> index of the community that answered
  size_t packets_sent = 0;
  size_t replies = 0;
  size_t unreadable_replies = 0;
  std::string error;  // socket trouble; the pass carries on without the sweep
  int64_t duration_ms = 0;
};

SweepResult sweep(const SweepOptions& options);

// Exposed for tests and the fuzz target: the community of an SNMPv1/v2c message, or nullopt
// when the bytes are not one (net-snmp's BER decoder does the reading).
std::optional<std::string> message_community(const uint8_t* data, size_t size);

}  // namespace schoolnet::discovery
