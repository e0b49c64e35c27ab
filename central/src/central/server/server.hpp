// The HTTPS server: a thin Boost.Beast adapter between TLS connections and an
// http::RequestHandler. It owns no application logic. Per connection: a TLS handshake with a
// timeout, then HTTP/1.1 requests with keep-alive, a 16 KiB header limit, a body limit, read
// and write timeouts, "Expect: 100-continue" honoured only after the headers passed precheck.
// Every completion handler catches what it throws: no input can take the process down.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "central/config/config.hpp"
#include "central/http/handler.hpp"
#include "core/result.hpp"

namespace schoolnet::central::server {

struct ServerOptions {
  ListenAddress listen;
  uint64_t max_body = 4 << 20;  // largest body of any request
  uint32_t header_limit = 16 * 1024;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};  // one request's headers and body
  std::chrono::milliseconds idle_timeout{60'000};  // waiting for the next request
  std::chrono::milliseconds write_timeout{30'000};
  size_t max_connections = 10'000;
};

class Server {
 public:
  Server(boost::asio::io_context& ioc, std::shared_ptr<boost::asio::ssl::context> tls,
         ServerOptions options, http::RequestHandler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts accepting (on the io_context's threads).
  Status start();
  // The bound port (useful with port 0).
  uint16_t port() const { return port_; }
  // Stops accepting. Connections end when the io_context stops.
  void stop();

 private:
  class Listener;
  std::shared_ptr<Listener> listener_;
  uint16_t port_ = 0;
};

}  // namespace schoolnet::central::server
