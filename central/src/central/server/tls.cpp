#include "central/server/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace schoolnet::central::server {

namespace ssl = boost::asio::ssl;

namespace {

// The most specific OpenSSL reason queued, or the error_code's message.
std::string openssl_reason(const boost::system::error_code& ec) {
  std::string reason;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  return reason.empty() ? ec.message() : reason;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_tls_context(const Config& config) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ERR_clear_error();
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(config.tls_cert, ec);
  if (ec) {
    return make_error("tls_cert", config.problem("server.tls_cert",
                                                 "cannot load the certificate chain from '" +
                                                     config.tls_cert + "': " + openssl_reason(ec)));
  }
  ctx->use_private_key_file(config.tls_key, ssl::context::pem, ec);
  if (ec) {
    return make_error("tls_key", config.problem("server.tls_key",
                                                "cannot load the private key from '" +
                                                    config.tls_key + "': " + openssl_reason(ec)));
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return make_error(
        "tls_key",
        config.problem("server.tls_key", "the private key does not match the certificate in '" +
                                             config.tls_cert + "'"));
  }
  return ctx;
}

}  // namespace schoolnet::central::server
