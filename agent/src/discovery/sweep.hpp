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

#include "discovery/snmp.hpp"

namespace schoolnet::discovery {

struct SweepOptions {
  std::vector<std::string> addresses;  // IPv4
  // v1/v2c community credentials, all sent at once. With none, each address still gets one
  // empty datagram on port 161: no agent answers it, but it fills the neighbour table.
  std::vector<Credential> communities;
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

// After every credential went unanswered: sends one GET with `community` to address:port and
// listens for `wait_ms`, to tell an address that says nothing ("no_answer") from one that
// answers with bytes that are not an SNMP reply to that community ("bad_response").
std::string why_unanswered(const std::string& address, uint16_t port, const Credential& community,
                           int64_t wait_ms);

struct MessageHeader {
  SnmpVersion version = SnmpVersion::v2c;
  std::string community;
};

// Exposed for tests and the fuzz target: the version and community of an SNMPv1/v2c message,
// or nullopt when the bytes are not one (net-snmp's BER decoder does the reading).
std::optional<MessageHeader> message_community(const uint8_t* data, size_t size);

}  // namespace schoolnet::discovery
