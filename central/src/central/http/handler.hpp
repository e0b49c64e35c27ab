// What the server needs from the application: a decision on the headers alone, the response to
// a whole request, and a count of requests the server itself had to refuse.
#pragma once

#include <optional>

#include "central/http/message.hpp"

namespace schoolnet::central::http {

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // Called once the request line and headers are read, before the body. A response refuses the
  // request without reading its body (the connection is then closed).
  virtual std::optional<Response> precheck(const Request& head) = 0;

  // The full request. Must not throw; the server still catches and answers 500 if it does.
  virtual Response handle(const Request& request) = 0;

  // The server refused a request itself (body or header over the limit, malformed HTTP).
  // `head` holds whatever of the request line and headers could be read.
  virtual void refused(const Request& head, int status) = 0;
};

}  // namespace schoolnet::central::http
