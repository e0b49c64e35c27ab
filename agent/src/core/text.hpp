// Text from outside the process (SNMP OCTET STRINGs, mDNS labels, TXT values) is bytes, not
// text: it may hold NUL padding, control bytes, binary garbage or invalid UTF-8. These helpers
// turn it into a safe display form that is always valid UTF-8 and never loses the fact that
// something odd was there.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace schoolnet {

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// Drops trailing NUL bytes (fixed-width fields padded with NUL are common in device firmware).
std::string_view trim_nul_padding(std::string_view bytes);

// The safe display form: trailing NUL padding removed; valid UTF-8 printable text kept as is;
// every other byte (control bytes, DEL, invalid UTF-8, embedded NUL) written as \xNN. With
// keep_newlines, '\n' and '\t' stay (multi-line sysDescr) and "\r\n" becomes "\n".
std::string display_safe(std::string_view bytes, bool keep_newlines = false);

// True when display_safe(bytes) would not change anything but NUL padding.
bool is_clean_text(std::string_view bytes, bool keep_newlines = false);

// Lower-case hex of bytes, with an optional separator between bytes ("aa:bb:cc").
std::string to_hex(std::span<const uint8_t> bytes, char separator = '\0');
std::string to_hex(std::string_view bytes, char separator = '\0');

// Formats 6 bytes as "aa:bb:cc:dd:ee:ff"; anything else as plain hex.
std::string format_mac(std::string_view bytes);

// Parses "aa:bb:cc:dd:ee:ff", "aa-bb-..." or "aabb.ccdd.eeff" into 6 bytes; empty on failure.
std::string parse_mac(std::string_view text);

// Trims ASCII white space at both ends.
std::string_view trim(std::string_view s);

// Replaces a secret with a form safe for logs and `config check` output.
std::string redacted(std::string_view secret);

}  // namespace schoolnet
