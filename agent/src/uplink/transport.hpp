// The seam between the uplink's decisions and the network. One call is one HTTP attempt.
#pragma once

#include <cstdint>
#include <string>

namespace schoolnet::uplink {

struct Response {
  int status = 0;               // HTTP status; 0 when no HTTP response arrived
  std::string body;             // capped
  int64_t retry_after_ms = -1;  // from Retry-After (seconds or HTTP date); -1 when absent
  std::string error_class;      // when status == 0: dns, connect, timeout, tls, tls_untrusted,
                                // tls_not_yet_valid, proxy, network
  std::string error_detail;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // POSTs a gzip-compressed protobuf body to central's batch endpoint.
  virtual Response post_batch(const std::string& gzip_body) = 0;
};

}  // namespace schoolnet::uplink
