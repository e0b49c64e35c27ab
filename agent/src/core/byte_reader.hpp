// A bounds-checked cursor over untrusted bytes. Every read either succeeds completely or
// leaves the reader failed; nothing reads past the end, whatever the lengths inside claim.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace schoolnet {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  ByteReader(const void* data, size_t size) : data_(static_cast<const uint8_t*>(data), size) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  size_t size() const { return data_.size(); }
  std::span<const uint8_t> all() const { return data_; }

  bool seek(size_t pos) {
    if (pos > data_.size()) {
      return false;
    }
    pos_ = pos;
    return true;
  }
  bool skip(size_t n) {
    if (n > remaining()) {
      return false;
    }
    pos_ += n;
    return true;
  }
  bool u8(uint8_t& out) {
    if (remaining() < 1) {
      return false;
    }
    out = data_[pos_++];
    return true;
  }
  bool u16be(uint16_t& out) {
    if (remaining() < 2) {
      return false;
    }
    out = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32be(uint32_t& out) {
    if (remaining() < 4) {
      return false;
    }
    out = (static_cast<uint32_t>(data_[pos_]) << 24) |
          (static_cast<uint32_t>(data_[pos_ + 1]) << 16) |
          (static_cast<uint32_t>(data_[pos_ + 2]) << 8) | static_cast<uint32_t>(data_[pos_ + 3]);
    pos_ += 4;
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>& out) {
    if (n > remaining()) {
      return false;
    }
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool text(size_t n, std::string_view& out) {
    std::span<const uint8_t> b;
    if (!bytes(n, b)) {
      return false;
    }
    out = std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
    return true;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace schoolnet
