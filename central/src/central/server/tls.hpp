// The server's TLS context: TLS 1.2 or later, the configured certificate chain and key.
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "central/config/config.hpp"
#include "core/result.hpp"

namespace schoolnet::central::server {

// Loads and checks the certificate chain and key. Errors name the file, line and key of the
// configuration ("central.toml:4: server.tls_key: ...") and OpenSSL's reason.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const Config& config);

}  // namespace schoolnet::central::server
