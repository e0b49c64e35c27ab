// The tls probe: TCP connect, then a TLS handshake with SNI; the time of the handshake, what
// the certificate says and whether it verifies against the trust store for this host name.
// Verification problems do not abort the handshake, so the certificate is always described.
#include <chrono>

#include <boost/asio/ssl.hpp>
#include <openssl/ssl.h>

#include "probes/probe.hpp"
#include "probes/tls_info.hpp"

namespace schoolnet::probes {

awaitable<void> run_tls(const config::ProbeConfig& p, const ProbeEnv& env, v1::ProbeSample& s) {
  auto connected = co_await resolve_and_connect(p, env, s);
  if (!connected) {
    co_return;
  }
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  if (p.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(p.ca_file, ec);
  }
  if (ec) {
    s.set_ok(false);
    s.set_error_class("internal");
    s.set_error_detail("cannot load trust store '" + p.ca_file + "': " + ec.message());
    co_return;
  }
  // Verify, but let the handshake finish whatever the verdict: the result is read afterwards.
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(connected->socket), ctx);
  SSL* ssl = stream.native_handle();
  SSL_set_tlsext_host_name(ssl, p.host.c_str());
  SSL_set1_host(ssl, p.host.c_str());

  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  const int64_t left = std::max<int64_t>(
      1, p.timeout_ms - static_cast<int64_t>(connected->dns_ms + connected->connect_ms));
  timer.expires_after(std::chrono::milliseconds(left));
  const auto t0 = std::chrono::steady_clock::now();
  boost::system::error_code hs_ec;
  boost::system::error_code timer_ec;
  auto which = co_await (stream.async_handshake(asio::ssl::stream_base::client,
                                                asio::redirect_error(use_awaitable, hs_ec)) ||
                         timer.async_wait(asio::redirect_error(use_awaitable, timer_ec)));
  const double tls_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto* t = s.mutable_timings();
  t->set_tls_ms(tls_ms);
  t->set_total_ms(connected->dns_ms + connected->connect_ms + tls_ms);
  if (which.index() == 1) {
    s.set_ok(false);
    s.set_error_class("tls_handshake");
    s.set_error_detail("TLS handshake with " + connected->address + " did not finish in time");
    co_return;
  }
  if (hs_ec) {
    s.set_ok(false);
    s.set_error_class("tls_handshake");
    s.set_error_detail("TLS handshake failed: " + hs_ec.message());
    co_return;
  }
  v1::TlsInfo* info = s.mutable_tls();
  info->set_protocol(SSL_get_version(ssl));
  X509* cert = SSL_get1_peer_certificate(ssl);
  describe_certificate(cert, *info);
  X509_free(cert);
  const long verify = SSL_get_verify_result(ssl);
  info->set_verified(verify == X509_V_OK);
  if (verify != X509_V_OK) {
    info->set_verify_error(X509_verify_cert_error_string(verify));
    s.set_ok(false);
    s.set_error_class(verify_error_class(verify));
    s.set_error_detail(std::string("certificate not trusted for ") + p.host + ": " +
                       X509_verify_cert_error_string(verify) + " (issuer " + info->issuer() + ")");
  } else {
    s.set_ok(true);
  }
  s.set_latency_ms(tls_ms);
  // Close politely but do not wait long for the server's close_notify.
  stream.next_layer().close(ec);
}

}  // namespace schoolnet::probes
