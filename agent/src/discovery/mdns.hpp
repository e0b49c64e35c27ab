// mDNS / DNS-SD browsing (RFC 6762, RFC 6763). MdnsBrowser is the pure part: it takes parsed
// messages in any order and split in any way, keeps per-instance state, honours goodbyes
// (TTL 0), and says which follow-up questions (PTR, SRV, TXT, A, AAAA) would fill the gaps.
// browse_mdns() drives it over real sockets.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dns/message.hpp"

namespace schoolnet::discovery {

struct MdnsServiceInfo {
  std::string type;      // "_ipp._tcp"
  std::string instance;  // instance label, raw bytes
  uint16_t port = 0;
  std::vector<std::pair<std::string, std::string>> txt;  // key, value (raw bytes)
  std::string target;                                    // SRV target host ("printer.local")
};

struct MdnsHost {
  std::string address;  // IPv4 (else IPv6) of the host
  std::vector<std::string> addresses;
  std::string hostname;  // "printer.local"
  std::vector<MdnsServiceInfo> services;
};

struct BrowserLimits {
  size_t max_types = 128;
  size_t max_instances = 1024;
  size_t max_hosts = 1024;
  int asks_per_question = 2;
  size_t questions_per_packet = 8;
};

class MdnsBrowser {
 public:
  explicit MdnsBrowser(BrowserLimits limits = {}) : limits_(limits) {}

  // Takes every record of a response (answers, authority and additional sections alike).
  // `from` is the sender's address, used when a service's host has no address record.
  void ingest(const dns::Message& message, const std::string& from);

  // The questions worth asking now, grouped into packets; each is asked at most
  // `asks_per_question` times over the whole browse.
  std::vector<std::vector<dns::Question>> next_questions();

  // Hosts with their services, one per address.
  std::vector<MdnsHost> hosts() const;

  size_t instance_count() const { return instances_.size(); }
  size_t type_count() const { return types_.size(); }

 private:
  struct Instance {
    std::string type;   // dotted type without the domain ("_ipp._tcp")
    std::string label;  // instance label
    bool have_srv = false;
    bool have_txt = false;
    uint16_t port = 0;
    std::string target;  // lower-case dotted
    std::vector<std::pair<std::string, std::string>> txt;
    std::string from;  // packet source, when nothing better is known
  };
  std::string key(const dns::Name& n) const;  // lower-case dotted key
  Instance& instance_for(const dns::Name& name);
  bool ask(std::vector<dns::Question>& out, const dns::Name& name, uint16_t type);
  void record(const dns::ResourceRecord& rr, const std::string& from);

  BrowserLimits limits_;
  bool enumerated_ = false;
  std::map<std::string, dns::Name> types_;  // key -> full type name ("_ipp._tcp.local")
  std::map<std::string, std::pair<dns::Name, Instance>> instances_;  // key -> (full name, state)
  std::map<std::string, std::set<std::string>> host_addresses_;      // host key -> addresses
  std::map<std::string, dns::Name> host_names_;
  std::map<std::string, int> asked_;  // "type/key" -> times asked
};

struct BrowseOptions {
  std::vector<std::string> interfaces;  // names; empty = every non-loopback IPv4 interface
  int64_t wait_ms = 3000;
  bool ipv6 = true;  // also ask on each interface's IPv6 side (ff02::fb), where it has one
};

struct BrowseResult {
  std::vector<MdnsHost> hosts;
  std::vector<std::string> problems;  // socket errors, malformed packets (counted, summarised)
  size_t packets = 0;
};

// Sends legacy-unicast queries (from an ephemeral port to 224.0.0.251:5353) on each interface
// and listens for the unicast answers for `wait_ms`, asking follow-up questions as gaps show.
BrowseResult browse_mdns(const BrowseOptions& options);

}  // namespace schoolnet::discovery
