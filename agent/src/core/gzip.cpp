#include "core/gzip.hpp"

#include <stdexcept>

#include <zlib.h>

namespace schoolnet {

namespace {
constexpr int kGzipWindowBits = 15 + 16;  // 16: gzip header and trailer instead of zlib's
}

std::string gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    throw std::runtime_error("deflate did not finish");
  }
  return out;
}

Result<std::string> gzip_decompress(std::string_view data, size_t max_output) {
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) {
    return make_error("gzip", "inflateInit2 failed");
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return make_error("gzip",
                        std::string("not valid gzip data: ") + (zs.msg ? zs.msg : "truncated"));
    }
    const size_t produced = sizeof buf - zs.avail_out;
    if (out.size() + produced > max_output) {
      inflateEnd(&zs);
      return make_error("too_large",
                        "inflates to more than " + std::to_string(max_output) + " bytes");
    }
    out.append(buf, produced);
    if (rc == Z_OK && produced == 0 && zs.avail_in == 0) {
      inflateEnd(&zs);
      return make_error("gzip", "not valid gzip data: truncated");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace schoolnet
