// The real server over TLS on 127.0.0.1 with a certificate made here: upload a gzip batch, read
// it back through the API, and check the limits that only the socket path can show.
#include <cstdio>
#include <memory>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "central/app/app.hpp"
#include "core/gzip.hpp"
#include "harness.hpp"

namespace schoolnet::central {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using namespace testing;

// A self-signed P-256 certificate for 127.0.0.1, written as PEM files.
void make_certificate(const std::string& cert_path, const std::string& key_path) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    ASSERT_NE(ext, nullptr);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  FILE* f = std::fopen(cert_path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert.get());
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

class Client {
 public:
  Client(uint16_t port, const std::string& ca_file, int max_tls = 0)
      : ctx_(ssl::context::tls_client), stream_(ioc_, ctx_) {
    ctx_.load_verify_file(ca_file);
    ctx_.set_verify_mode(ssl::verify_peer);
    if (max_tls != 0) {
      SSL_CTX_set_max_proto_version(ctx_.native_handle(), max_tls);
      SSL_set_max_proto_version(stream_.native_handle(), max_tls);
      SSL_set_security_level(stream_.native_handle(), 0);
    }
    beast::get_lowest_layer(stream_).connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  beast::error_code handshake() {
    beast::error_code ec;
    stream_.handshake(ssl::stream_base::client, ec);
    return ec;
  }

  bhttp::response<bhttp::string_body> request(bhttp::request<bhttp::string_body> req) {
    req.set(bhttp::field::host, "127.0.0.1");
    req.prepare_payload();
    bhttp::write(stream_, req);
    return read();
  }

  bhttp::response<bhttp::string_body> read() {
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream_, buffer_, res);
    return res;
  }

  void write_raw(const std::string& bytes) { net::write(stream_, net::buffer(bytes)); }

 private:
  net::io_context ioc_;
  ssl::context ctx_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

class CentralHttps : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = dir_.file("central.pem");
    key_ = dir_.file("central.key");
    make_certificate(cert_, key_);
    const std::string toml =
        "[server]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"" + cert_ + "\"\ntls_key = \"" + key_ +
        "\"\nmax_body = \"64KiB\"\n" + "[store]\npath = \"" + dir_.file("central.db") + "\"\n" +
        "[[api_token]]\ntoken = \"" + kAllToken + "\"\nschools = [\"*\"]\n" +
        "[[agent]]\ntoken = \"" + kAgentToken + "\"\nschool_id = \"" + kSchool + "\"\n";
    settings::Problems problems;
    auto config = load_config_text(toml, "https-test.toml", problems);
    ASSERT_TRUE(config.ok()) << problems.joined();
    auto app = App::create(std::move(config.value()), clock_);
    ASSERT_TRUE(app.ok()) << app.error().to_string();
    app_ = std::move(app.value());
    ASSERT_TRUE(app_->start().ok());
    runner_ = std::thread([this] { app_->run(false); });
  }

  void TearDown() override {
    if (app_) {
      app_->stop();
    }
    if (runner_.joinable()) {
      runner_.join();
    }
  }

  schoolnet::testing::TempDir dir_;
  SystemClock clock_;
  std::string cert_;
  std::string key_;
  std::unique_ptr<App> app_;
  std::thread runner_;
};

TEST_F(CentralHttps, StoresAGzipBatchAndServesItBackThroughTheApi) {
  Client c(app_->port(), cert_);
  ASSERT_FALSE(c.handshake());

  bhttp::request<bhttp::string_body> health{bhttp::verb::get, "/healthz", 11};
  auto res = c.request(health);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "ok\n");

  v1::Batch b = make_batch(1);
  add_device(b, "mac:aa:bb:cc:00:00:02", clock_.wall_ms());
  add_sample(b, "dns", clock_.wall_ms(), true);
  bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/v1/batches", 11};
  post.set(bhttp::field::authorization, std::string("Bearer ") + kAgentToken);
  post.set(bhttp::field::content_type, "application/x-protobuf");
  post.set(bhttp::field::content_encoding, "gzip");
  post.body() = gzip_compress(serialized(b));
  res = c.request(post);  // same connection: keep-alive
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  v1::UploadAck ack;
  ASSERT_TRUE(ack.ParseFromString(res.body()));
  EXPECT_EQ(ack.acked_seq(), 1u);
  EXPECT_TRUE(res.keep_alive());

  bhttp::request<bhttp::string_body> get{bhttp::verb::get, "/api/v1/schools/100001/devices", 11};
  get.set(bhttp::field::authorization, std::string("Bearer ") + kAllToken);
  res = c.request(get);
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  const boost::json::value devices = boost::json::parse(res.body());
  ASSERT_EQ(devices.as_array().size(), 1u);
  EXPECT_EQ(devices.at(0).at("device_id").as_string(), "mac:aa:bb:cc:00:00:02");

  bhttp::request<bhttp::string_body> metrics{bhttp::verb::get, "/metrics", 11};
  metrics.set(bhttp::field::authorization, std::string("Bearer ") + kAllToken);
  res = c.request(metrics);
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_NE(res.body().find("schoolnet_ingest_requests_total{code=\"200\"} 1"), std::string::npos);
}

TEST_F(CentralHttps, RefusesAnOversizedUploadFromItsContentLengthBeforeTheBody) {
  Client c(app_->port(), cert_);
  ASSERT_FALSE(c.handshake());
  c.write_raw(std::string("POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
              kAgentToken +
              "\r\nContent-Type: application/x-protobuf\r\nContent-Length: 10000000\r\n\r\n");
  auto res = c.read();
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(CentralHttps, RefusesAnUnauthenticatedUploadBeforeAnsweringExpectContinue) {
  Client c(app_->port(), cert_);
  ASSERT_FALSE(c.handshake());
  c.write_raw(
      "POST /v1/batches HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
      "100\r\n\r\n");
  auto res = c.read();
  EXPECT_EQ(res.result_int(), 401u);
}

TEST_F(CentralHttps, AnswersExpectContinueForAnAcceptableUpload) {
  Client c(app_->port(), cert_);
  ASSERT_FALSE(c.handshake());
  const std::string body = gzip_compress(serialized(make_batch(7)));
  c.write_raw(std::string("POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
              kAgentToken + "\r\nContent-Encoding: gzip\r\nExpect: 100-continue\r\n" +
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  auto cont = c.read();
  EXPECT_EQ(cont.result_int(), 100u);
  c.write_raw(body);
  auto res = c.read();
  ASSERT_EQ(res.result_int(), 200u) << res.body();
}

TEST_F(CentralHttps, RefusesHeadersOverTheLimitAndMalformedRequests) {
  {
    Client c(app_->port(), cert_);
    ASSERT_FALSE(c.handshake());
    c.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') +
                "\r\n\r\n");
    EXPECT_EQ(c.read().result_int(), 431u);
  }
  {
    Client c(app_->port(), cert_);
    ASSERT_FALSE(c.handshake());
    c.write_raw("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_EQ(c.read().result_int(), 400u);
  }
  // The server is still there.
  Client c(app_->port(), cert_);
  ASSERT_FALSE(c.handshake());
  EXPECT_EQ(
      c.request(bhttp::request<bhttp::string_body>{bhttp::verb::get, "/healthz", 11}).result_int(),
      200u);
}

TEST_F(CentralHttps, RefusesTls11) {
  Client c(app_->port(), cert_, TLS1_1_VERSION);
  EXPECT_TRUE(c.handshake());
}

}  // namespace
}  // namespace schoolnet::central
