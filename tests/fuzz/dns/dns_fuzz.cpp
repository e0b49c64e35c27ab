// Fuzz target: one datagram as it might arrive on the mDNS socket or from a resolver. Parsing
// must never crash, hang or read out of bounds, and whatever parses must be safe to feed to
// the DNS-SD browser and to read back out of it.
#include <cstddef>
#include <cstdint>
#include <span>

#include "discovery/mdns.hpp"
#include "dns/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace schoolnet;
  auto m = dns::parse(std::span<const uint8_t>(data, size));
  if (!m) {
    return 0;
  }
  // Responses only reach the browser; flip the QR bit so queries exercise it too.
  m->flags |= 0x8000;
  discovery::MdnsBrowser browser;
  browser.ingest(*m, "192.0.2.1");
  browser.ingest(*m, "192.0.2.2");  // the same answers again, from elsewhere
  for (const auto& packet : browser.next_questions()) {
    auto q = dns::build_query(1, packet, false);
    (void)dns::parse(q);
  }
  for (const auto& h : browser.hosts()) {
    for (const auto& s : h.services) {
      (void)s.txt.size();
    }
  }
  return 0;
}
