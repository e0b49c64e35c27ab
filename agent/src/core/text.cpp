#include "core/text.hpp"

#include <array>
#include <cstdio>

namespace schoolnet {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is not; the code
// point goes to `cp`.
size_t utf8_decode(std::string_view s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr std::array<uint32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

// Like utf8_decode, but also 0 for C1 control characters (U+0080..U+009F): well-formed, but
// not displayable.
size_t displayable_length(std::string_view s, size_t i) {
  uint32_t cp = 0;
  const size_t n = utf8_decode(s, i, cp);
  return (cp >= 0x80 && cp <= 0x9F) ? 0 : n;
}

void append_escape(std::string& out, unsigned char b) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  out += buf;
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    uint32_t cp = 0;
    const size_t n = utf8_decode(bytes, i, cp);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string_view trim_nul_padding(std::string_view bytes) {
  while (!bytes.empty() && bytes.back() == '\0') {
    bytes.remove_suffix(1);
  }
  return bytes;
}

std::string display_safe(std::string_view bytes, bool keep_newlines) {
  bytes = trim_nul_padding(bytes);
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x20 || b == 0x7F) {
      if (keep_newlines && (b == '\n' || b == '\t')) {
        out += static_cast<char>(b);
      } else if (keep_newlines && b == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') {
        // "\r\n" -> "\n": the '\n' is written on the next step.
      } else {
        append_escape(out, b);
      }
      ++i;
      continue;
    }
    const size_t n = displayable_length(bytes, i);
    if (n == 0) {
      append_escape(out, b);
      ++i;
      continue;
    }
    out.append(bytes.substr(i, n));
    i += n;
  }
  return out;
}

bool is_clean_text(std::string_view bytes, bool keep_newlines) {
  const std::string_view trimmed = trim_nul_padding(bytes);
  return display_safe(trimmed, keep_newlines) == trimmed;
}

std::string to_hex(std::span<const uint8_t> bytes, char separator) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0 && separator != '\0') {
      out += separator;
    }
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0x0F];
  }
  return out;
}

std::string to_hex(std::string_view bytes, char separator) {
  return to_hex(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
      separator);
}

std::string format_mac(std::string_view bytes) {
  return to_hex(bytes, bytes.size() == 6 ? ':' : '\0');
}

std::string parse_mac(std::string_view text) {
  std::string out;
  int nibble = -1;
  for (const char c : text) {
    int v = -1;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else if (c == ':' || c == '-' || c == '.') {
      if (nibble >= 0) {
        return {};  // separators only between whole bytes
      }
      continue;
    } else {
      return {};
    }
    if (nibble < 0) {
      nibble = v;
    } else {
      out += static_cast<char>((nibble << 4) | v);
      nibble = -1;
    }
  }
  if (nibble >= 0 || out.size() != 6) {
    return {};
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string redacted(std::string_view secret) {
  if (secret.empty()) {
    return "(empty)";
  }
  return "(redacted, " + std::to_string(secret.size()) + " chars)";
}

}  // namespace schoolnet
