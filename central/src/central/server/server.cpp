#include "central/server/server.hpp"

#include <atomic>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "central/server/convert.hpp"
#include "core/log.hpp"

namespace schoolnet::central::server {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

// What the listener and every session share.
struct Shared {
  std::shared_ptr<ssl::context> tls;
  ServerOptions options;
  http::RequestHandler& handler;
  std::atomic<size_t> connections{0};
};

bool is_http_error(const beast::error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_method).category();
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket), *shared->tls), shared_(std::move(shared)) {
    ++shared_->connections;
    beast::error_code ec;
    const auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ec);
  }
  ~Session() { --shared_->connections; }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->guarded("handshake", [&] {
        beast::get_lowest_layer(self->stream_).expires_after(self->options().handshake_timeout);
        self->stream_.async_handshake(ssl::stream_base::server,
                                      [self](beast::error_code ec) { self->on_handshake(ec); });
      });
    });
  }

 private:
  const ServerOptions& options() const { return shared_->options; }

  // The boundary of every asynchronous step: an exception becomes a log line and a closed
  // connection, never a dead server.
  template <typename F>
  void guarded(const char* step, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      log::error("connection failed", {{"step", step}, {"error", e.what()}, {"remote", remote_}});
      close();
    } catch (...) {
      log::error("connection failed", {{"step", step}, {"remote", remote_}});
      close();
    }
  }

  void on_handshake(beast::error_code ec) {
    guarded("handshake", [&] {
      if (ec) {
        log::debug("tls handshake failed", {{"error", ec.message()}, {"remote", remote_}});
        close();
        return;
      }
      read_header();
    });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(options().header_limit);
    // Set before the headers are parsed: a Content-Length above it fails at once, before any
    // buffer for the body is reserved.
    parser_->body_limit(options().max_body);
    beast::get_lowest_layer(stream_).expires_after(requests_ == 0 ? options().read_timeout
                                                                  : options().idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  // True when the error was answered (or the connection closed) here.
  bool handled_read_error(const beast::error_code& ec) {
    if (!ec) {
      return false;
    }
    if (ec == bhttp::error::body_limit) {
      refuse(413, "request body too large");
    } else if (ec == bhttp::error::header_limit) {
      refuse(431, "request headers too large");
    } else if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
               !is_http_error(ec)) {
      // The peer went away, timed out or broke TLS: nothing to answer.
      if (ec != bhttp::error::end_of_stream && ec != ssl::error::stream_truncated) {
        log::debug("connection ended", {{"error", ec.message()}, {"remote", remote_}});
      }
      close();
    } else {
      refuse(400, "malformed HTTP request");
    }
    return true;
  }

  void on_header(beast::error_code ec) {
    guarded("read header", [&] {
      if (handled_read_error(ec)) {
        return;
      }
      ++requests_;
      head_ = to_request(parser_->get().base());
      head_.remote = remote_;
      keep_alive_ = parser_->get().keep_alive();
      if (auto refused = shared_->handler.precheck(head_)) {
        refused->close = true;  // the body was not read
        send(std::move(*refused));
        return;
      }
      const std::string* expect = head_.header("expect");
      if (expect != nullptr && beast::iequals(*expect, "100-continue") && !parser_->is_done()) {
        auto cont =
            std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
        beast::get_lowest_layer(stream_).expires_after(options().write_timeout);
        bhttp::async_write(stream_, *cont,
                           [self = shared_from_this(), cont](beast::error_code wec, size_t) {
                             self->guarded("write continue", [&] {
                               if (wec) {
                                 self->close();
                                 return;
                               }
                               self->read_body();
                             });
                           });
        return;
      }
      read_body();
    });
  }

  void read_body() {
    beast::get_lowest_layer(stream_).expires_after(options().read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    guarded("read body", [&] {
      if (handled_read_error(ec)) {
        return;
      }
      http::Request request = std::move(head_);
      request.body = parser_->release().body();
      http::Response response;
      try {
        response = shared_->handler.handle(request);
      } catch (const std::exception& e) {
        log::error("request handler failed",
                   {{"target", request.path()}, {"error", e.what()}, {"remote", remote_}});
        response = http::text_response(500, "internal error");
      }
      send(std::move(response));
    });
  }

  void refuse(int status, std::string_view reason) {
    http::Request head;
    if (parser_) {
      head = to_request(parser_->get().base());  // whatever of the head was parsed
    }
    head.remote = remote_;
    shared_->handler.refused(head, status);
    log::info("request refused", {{"status", status}, {"reason", reason}, {"remote", remote_}});
    http::Response r = http::text_response(status, reason);
    r.close = true;
    send(std::move(r));
  }

  void send(http::Response r) {
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    msg->version(11);
    msg->result(static_cast<unsigned>(r.status));
    if (!r.content_type.empty()) {
      msg->set(bhttp::field::content_type, r.content_type);
    }
    msg->set(bhttp::field::cache_control, "no-store");
    for (const auto& [name, value] : r.headers) {
      msg->set(name, value);
    }
    msg->body() = std::move(r.body);
    const bool keep = keep_alive_ && !r.close;
    msg->keep_alive(keep);
    msg->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(options().write_timeout);
    bhttp::async_write(stream_, *msg,
                       [self = shared_from_this(), msg, keep](beast::error_code ec, size_t) {
                         self->on_write(ec, keep);
                       });
  }

  void on_write(beast::error_code ec, bool keep) {
    guarded("write", [&] {
      if (ec) {
        log::debug("write failed", {{"error", ec.message()}, {"remote", remote_}});
        close();
        return;
      }
      if (!keep) {
        shutdown();
        return;
      }
      read_header();
    });
  }

  void shutdown() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close(); });
  }

  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).socket().close(ec);
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  std::shared_ptr<Shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  http::Request head_;
  bool keep_alive_ = true;
  uint64_t requests_ = 0;
  std::string remote_ = "unknown";
};

}  // namespace

http::Request to_request(const bhttp::request_header<>& h) {
  http::Request r;
  r.method = std::string(h.method_string());
  r.target = std::string(h.target());
  for (const auto& field : h) {
    std::string name(field.name_string());
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<char>(c - 'A' + 'a');
      }
    }
    r.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  return r;
}

class Server::Listener : public std::enable_shared_from_this<Server::Listener> {
 public:
  Listener(net::io_context& ioc, std::shared_ptr<Shared> shared)
      : ioc_(ioc),
        acceptor_(net::make_strand(ioc)),
        retry_(acceptor_.get_executor()),
        shared_(std::move(shared)) {}

  Result<uint16_t> open() {
    const ListenAddress& l = shared_->options.listen;
    beast::error_code ec;
    const auto address = net::ip::make_address(l.host, ec);
    if (ec) {
      return make_error("listen", "'" + l.host + "' is not an IP address");
    }
    const tcp::endpoint endpoint(address, l.port);
    const std::string where = l.host + ":" + std::to_string(l.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec && endpoint.address().is_v6()) {
      acceptor_.set_option(net::ip::v6_only(true), ec);
    }
    if (!ec) {
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return make_error("listen", "cannot listen on " + where + ": " + ec.message());
    }
    return acceptor_.local_endpoint().port();
  }

  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void stop() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      self->stopped_ = true;
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (stopped_ || ec == net::error::operation_aborted) {
      return;
    }
    try {
      if (ec) {
        // Out of file descriptors and the like: pause instead of spinning.
        log::warning("accept failed", {{"error", ec.message()}});
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([self = shared_from_this()](beast::error_code wec) {
          if (!wec && !self->stopped_) {
            self->accept();
          }
        });
        return;
      }
      if (shared_->connections.load() >= shared_->options.max_connections) {
        log::warning("connection limit reached, closing a new connection",
                     {{"limit", shared_->options.max_connections}});
        beast::error_code cec;
        socket.close(cec);
      } else {
        std::make_shared<Session>(std::move(socket), shared_)->run();
      }
    } catch (const std::exception& e) {
      log::error("accept handler failed", {{"error", e.what()}});
    }
    accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::shared_ptr<Shared> shared_;
  bool stopped_ = false;
};

Server::Server(net::io_context& ioc, std::shared_ptr<ssl::context> tls, ServerOptions options,
               http::RequestHandler& handler) {
  // Shared holds an atomic and cannot be moved: built in place.
  std::shared_ptr<Shared> shared(new Shared{std::move(tls), std::move(options), handler, {}});
  listener_ = std::make_shared<Listener>(ioc, std::move(shared));
}

Server::~Server() {
  stop();
}

Status Server::start() {
  auto port = listener_->open();
  if (!port) {
    return port.error();
  }
  port_ = *port;
  listener_->accept();
  return ok_status();
}

void Server::stop() {
  if (listener_) {
    listener_->stop();
  }
}

}  // namespace schoolnet::central::server
