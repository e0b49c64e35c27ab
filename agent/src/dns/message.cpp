#include "dns/message.hpp"

#include <arpa/inet.h>
#include <cctype>

#include "core/byte_reader.hpp"

namespace schoolnet::dns {

namespace {

constexpr size_t kMaxNameLength = 255;

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Finds where a name stored at the reader's position ends in place (after its terminating zero
// or its first compression pointer) without following pointers. Fails on an unknown label type
// or when the name runs off the end: then nothing after it can be located.
bool skip_name(ByteReader& r) {
  for (;;) {
    uint8_t len = 0;
    if (!r.u8(len)) {
      return false;
    }
    if (len == 0) {
      return true;
    }
    if ((len & 0xC0) == 0xC0) {
      return r.skip(1);
    }
    if ((len & 0xC0) != 0) {
      return false;  // 0x40 and 0x80 label types are not in use
    }
    if (!r.skip(len)) {
      return false;
    }
  }
}

// Decodes the name at `offset` of the whole message, following compression pointers.
Result<Name> decode_name(std::span<const uint8_t> msg, size_t offset, const Limits& limits) {
  Name name;
  size_t pos = offset;
  size_t total = 1;
  int hops = 0;
  for (;;) {
    if (pos >= msg.size()) {
      return make_error("name_out_of_bounds", "name runs past the end of the message");
    }
    const uint8_t len = msg[pos];
    if (len == 0) {
      return name;
    }
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= msg.size()) {
        return make_error("name_out_of_bounds", "compression pointer cut off");
      }
      if (++hops > limits.max_pointer_hops) {
        return make_error("compression_loop", "too many compression pointers (a loop?)");
      }
      const size_t target = (static_cast<size_t>(len & 0x3F) << 8) | msg[pos + 1];
      if (target >= msg.size()) {
        return make_error("bad_pointer", "compression pointer beyond the message");
      }
      pos = target;
      continue;
    }
    if ((len & 0xC0) != 0) {
      return make_error("bad_label", "unknown label type");
    }
    if (pos + 1 + len > msg.size()) {
      return make_error("name_out_of_bounds", "label runs past the end of the message");
    }
    total += len + 1;
    if (total > kMaxNameLength) {
      return make_error("name_too_long", "name longer than 255 bytes");
    }
    name.labels.emplace_back(reinterpret_cast<const char*>(msg.data() + pos + 1), len);
    pos += 1 + len;
  }
}

void decode_rdata(ResourceRecord& rr, std::span<const uint8_t> msg, size_t rdata_offset,
                  const Limits& limits, std::string& problem) {
  const auto* p = reinterpret_cast<const uint8_t*>(rr.rdata.data());
  const size_t n = rr.rdata.size();
  switch (rr.type) {
    case kA:
      if (n == 4) {
        rr.a = std::array<uint8_t, 4>{p[0], p[1], p[2], p[3]};
      } else {
        problem = "A record of " + std::to_string(n) + " bytes";
      }
      break;
    case kAaaa:
      if (n == 16) {
        std::array<uint8_t, 16> v{};
        std::copy(p, p + 16, v.begin());
        rr.aaaa = v;
      } else {
        problem = "AAAA record of " + std::to_string(n) + " bytes";
      }
      break;
    case kPtr: {
      auto name = decode_name(msg, rdata_offset, limits);
      if (name) {
        rr.ptr = std::move(*name);
      } else {
        problem = "PTR: " + name.error().message;
      }
      break;
    }
    case kSrv: {
      if (n < 7) {
        problem = "SRV record of " + std::to_string(n) + " bytes";
        break;
      }
      Srv srv;
      srv.priority = static_cast<uint16_t>((p[0] << 8) | p[1]);
      srv.weight = static_cast<uint16_t>((p[2] << 8) | p[3]);
      srv.port = static_cast<uint16_t>((p[4] << 8) | p[5]);
      auto target = decode_name(msg, rdata_offset + 6, limits);
      if (!target) {
        problem = "SRV: " + target.error().message;
        break;
      }
      srv.target = std::move(*target);
      rr.srv = std::move(srv);
      break;
    }
    case kTxt: {
      std::vector<std::string> strings;
      size_t i = 0;
      while (i < n) {
        const size_t len = p[i];
        if (i + 1 + len > n) {
          problem = "TXT string runs past its record";
          break;
        }
        strings.emplace_back(reinterpret_cast<const char*>(p + i + 1), len);
        i += 1 + len;
      }
      if (problem.empty()) {
        rr.txt = std::move(strings);
      }
      break;
    }
    default:
      break;
  }
}

const char* section_name(Section s) {
  switch (s) {
    case Section::answer:
      return "answer";
    case Section::authority:
      return "authority";
    case Section::additional:
      return "additional";
  }
  return "?";
}

}  // namespace

std::string Name::to_string() const {
  if (labels.empty()) {
    return ".";
  }
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) {
      out += '.';
    }
    for (const char c : labels[i]) {
      if (c == '.' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
  }
  return out;
}

bool Name::equals(const Name& other) const {
  if (labels.size() != other.labels.size()) {
    return false;
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!ieq(labels[i], other.labels[i])) {
      return false;
    }
  }
  return true;
}

bool Name::ends_with(const Name& suffix) const {
  if (suffix.labels.size() > labels.size()) {
    return false;
  }
  const size_t off = labels.size() - suffix.labels.size();
  for (size_t i = 0; i < suffix.labels.size(); ++i) {
    if (!ieq(labels[off + i], suffix.labels[i])) {
      return false;
    }
  }
  return true;
}

Name Name::from_dotted(std::string_view dotted) {
  Name n;
  while (!dotted.empty()) {
    const size_t dot = dotted.find('.');
    if (dot != 0) {
      n.labels.emplace_back(dotted.substr(0, dot));
    }
    if (dot == std::string_view::npos) {
      break;
    }
    dotted.remove_prefix(dot + 1);
  }
  return n;
}

Result<Message> parse(std::span<const uint8_t> bytes, const Limits& limits) {
  ByteReader r(bytes);
  Message m;
  uint16_t qd = 0;
  uint16_t an = 0;
  uint16_t ns = 0;
  uint16_t ar = 0;
  if (!r.u16be(m.id) || !r.u16be(m.flags) || !r.u16be(qd) || !r.u16be(an) || !r.u16be(ns) ||
      !r.u16be(ar)) {
    return make_error("dns_short", "message shorter than a DNS header");
  }
  size_t budget = limits.max_records;
  for (uint16_t i = 0; i < qd; ++i) {
    if (budget-- == 0) {
      m.problems.push_back("record limit reached");
      m.truncated_early = true;
      return m;
    }
    const size_t start = r.position();
    uint16_t type = 0;
    uint16_t cls = 0;
    if (!skip_name(r)) {
      m.problems.push_back("question " + std::to_string(i) + ": name cannot be delimited");
      m.truncated_early = true;
      return m;
    }
    if (!r.u16be(type) || !r.u16be(cls)) {
      m.problems.push_back("question " + std::to_string(i) + ": cut off");
      m.truncated_early = true;
      return m;
    }
    auto name = decode_name(bytes, start, limits);
    if (!name) {
      m.problems.push_back("question " + std::to_string(i) + ": " + name.error().message);
      continue;
    }
    Question q;
    q.name = std::move(*name);
    q.type = type;
    q.unicast_response = (cls & 0x8000) != 0;
    q.qclass = cls & 0x7FFF;
    m.questions.push_back(std::move(q));
  }
  const std::pair<Section, uint16_t> sections[] = {
      {Section::answer, an}, {Section::authority, ns}, {Section::additional, ar}};
  for (const auto& [section, count] : sections) {
    auto& out = section == Section::answer      ? m.answers
                : section == Section::authority ? m.authorities
                                                : m.additionals;
    for (uint16_t i = 0; i < count; ++i) {
      const std::string where = std::string(section_name(section)) + " " + std::to_string(i);
      if (budget-- == 0) {
        m.problems.push_back("record limit reached");
        m.truncated_early = true;
        return m;
      }
      const size_t start = r.position();
      if (!skip_name(r)) {
        m.problems.push_back(where + ": name cannot be delimited");
        m.truncated_early = true;
        return m;
      }
      ResourceRecord rr;
      uint16_t cls = 0;
      uint16_t rdlen = 0;
      if (!r.u16be(rr.type) || !r.u16be(cls) || !r.u32be(rr.ttl) || !r.u16be(rdlen)) {
        m.problems.push_back(where + ": cut off");
        m.truncated_early = true;
        return m;
      }
      const size_t rdata_offset = r.position();
      std::string_view rdata;
      if (!r.text(rdlen, rdata)) {
        m.problems.push_back(where + ": RDATA runs past the end of the message");
        m.truncated_early = true;
        return m;
      }
      auto name = decode_name(bytes, start, limits);
      if (!name) {
        m.problems.push_back(where + ": " + name.error().message);
        continue;  // skip just this record: RDLENGTH told us where the next one starts
      }
      rr.name = std::move(*name);
      rr.cache_flush = (cls & 0x8000) != 0;
      rr.rclass = cls & 0x7FFF;
      rr.rdata = std::string(rdata);
      std::string problem;
      decode_rdata(rr, bytes, rdata_offset, limits, problem);
      if (!problem.empty()) {
        m.problems.push_back(where + ": " + problem);
        continue;
      }
      out.push_back(std::move(rr));
    }
  }
  return m;
}

std::vector<uint8_t> build_query(uint16_t id, const std::vector<Question>& questions,
                                 bool recursion_desired) {
  std::vector<uint8_t> out;
  auto u16 = [&](uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v & 0xFF));
  };
  u16(id);
  u16(recursion_desired ? 0x0100 : 0);
  u16(static_cast<uint16_t>(questions.size()));
  u16(0);
  u16(0);
  u16(0);
  for (const Question& q : questions) {
    for (const std::string& label : q.name.labels) {
      const size_t len = std::min<size_t>(label.size(), 63);
      out.push_back(static_cast<uint8_t>(len));
      out.insert(out.end(), label.begin(), label.begin() + static_cast<std::ptrdiff_t>(len));
    }
    out.push_back(0);
    u16(q.type);
    u16(static_cast<uint16_t>(q.qclass | (q.unicast_response ? 0x8000 : 0)));
  }
  return out;
}

std::string format_a(const std::array<uint8_t, 4>& a) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, a.data(), buf, sizeof buf);
  return buf;
}

std::string format_aaaa(const std::array<uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

std::pair<std::string, std::optional<std::string>> split_txt(std::string_view entry) {
  const size_t eq = entry.find('=');
  if (eq == std::string_view::npos) {
    return {std::string(entry), std::nullopt};
  }
  return {std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1))};
}

}  // namespace schoolnet::dns
