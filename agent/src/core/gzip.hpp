// gzip framing for upload bodies (Content-Encoding: gzip).
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace schoolnet {

std::string gzip_compress(std::string_view data, int level = 6);

// Inflates gzip data, refusing to produce more than `max_output` bytes (decompression bombs).
Result<std::string> gzip_decompress(std::string_view data, size_t max_output);

}  // namespace schoolnet
