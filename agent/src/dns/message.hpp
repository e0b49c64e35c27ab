// DNS wire format (RFC 1035, with the mDNS bits of RFC 6762): parsing of untrusted messages and
// building of queries. Used by the dns probe and by the mDNS/DNS-SD browser.
//
// Parsing never trusts a length or a pointer: names are decoded with a bounds check on every
// byte, a limit on compression hops (which ends pointer loops, forward pointers included) and
// the 255-byte name limit. A broken record is skipped using its RDLENGTH and the rest of the
// message is kept; only damage that hides where the next record starts ends the parse early.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace schoolnet::dns {

enum Type : uint16_t {
  kA = 1,
  kPtr = 12,
  kTxt = 16,
  kAaaa = 28,
  kSrv = 33,
  kOpt = 41,
  kNsec = 47,
  kAny = 255,
};

enum Rcode : uint8_t { kNoError = 0, kFormErr = 1, kServFail = 2, kNxDomain = 3, kRefused = 5 };

// A domain name as its labels. Labels are bytes: DNS-SD instance labels may hold spaces, dots
// and UTF-8 (or anything else a device sends).
struct Name {
  std::vector<std::string> labels;

  // Dotted form; '.' and '\' inside a label are escaped with '\'.
  std::string to_string() const;
  // Case-insensitive (ASCII) comparison, as DNS requires.
  bool equals(const Name& other) const;
  // True when this name ends with `suffix` (case-insensitive).
  bool ends_with(const Name& suffix) const;
  static Name from_dotted(std::string_view dotted);  // no escapes; for our own names
};

struct Question {
  Name name;
  uint16_t type = 0;
  uint16_t qclass = 1;
  bool unicast_response = false;  // mDNS QU bit (top bit of qclass)
};

struct Srv {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  Name target;
};

struct ResourceRecord {
  Name name;
  uint16_t type = 0;
  uint16_t rclass = 1;
  bool cache_flush = false;  // mDNS: top bit of class
  uint32_t ttl = 0;
  std::string rdata;  // raw RDATA bytes
  // Decoded forms, filled for the types below when RDATA is well formed.
  std::optional<std::array<uint8_t, 4>> a;
  std::optional<std::array<uint8_t, 16>> aaaa;
  std::optional<Name> ptr;
  std::optional<Srv> srv;
  std::optional<std::vector<std::string>> txt;
};

enum class Section { answer, authority, additional };

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authorities;
  std::vector<ResourceRecord> additionals;
  // What was wrong, one line per skipped record or early end ("answer 2: compression loop").
  std::vector<std::string> problems;
  bool truncated_early = false;  // parsing stopped before the counts in the header were met

  bool is_response() const { return (flags & 0x8000) != 0; }
  bool truncated() const { return (flags & 0x0200) != 0; }  // TC
  uint8_t rcode() const { return static_cast<uint8_t>(flags & 0x000F); }
};

// Limits that bound the work one message can cause.
struct Limits {
  size_t max_records = 512;
  int max_pointer_hops = 32;
};

// Parses a message. Fails only when not even the 12-byte header is there; everything after it
// is kept as far as it can be read (see Message::problems).
Result<Message> parse(std::span<const uint8_t> bytes, const Limits& limits = {});

// Builds a query with the given questions. Names are encoded without compression.
std::vector<uint8_t> build_query(uint16_t id, const std::vector<Question>& questions,
                                 bool recursion_desired);

// Formats an address record as text ("192.0.2.1", "2001:db8::1").
std::string format_a(const std::array<uint8_t, 4>& a);
std::string format_aaaa(const std::array<uint8_t, 16>& a);

// Splits a TXT string "key=value" (RFC 6763 section 6.3): key without '=' has no value.
std::pair<std::string, std::optional<std::string>> split_txt(std::string_view entry);

}  // namespace schoolnet::dns
