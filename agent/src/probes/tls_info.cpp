#include "probes/tls_info.hpp"

#include <ctime>
#include <memory>

#include <openssl/bio.h>
#include <openssl/x509_vfy.h>

namespace schoolnet::probes {

namespace {

std::string name_text(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || !name) {
    return {};
  }
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string{};
}

int64_t asn1_time_ms(const ASN1_TIME* t) {
  tm parts{};
  if (!t || ASN1_TIME_to_tm(t, &parts) != 1) {
    return 0;
  }
  return static_cast<int64_t>(timegm(&parts)) * 1000;
}

}  // namespace

void describe_certificate(X509* cert, v1::TlsInfo& out) {
  if (!cert) {
    return;
  }
  out.set_subject(name_text(X509_get_subject_name(cert)));
  out.set_issuer(name_text(X509_get_issuer_name(cert)));
  out.set_not_before_ms(asn1_time_ms(X509_get0_notBefore(cert)));
  out.set_not_after_ms(asn1_time_ms(X509_get0_notAfter(cert)));
}

std::string verify_error_class(long e) {
  switch (e) {
    case X509_V_OK:
      return {};
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "tls_expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "tls_not_yet_valid";
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return "tls_hostname_mismatch";
    default:
      // Self-signed, unknown issuer, broken chain: a certificate we cannot trust, typically
      // HTTPS inspection by the school's filter or a misconfigured server.
      return "tls_untrusted";
  }
}

}  // namespace schoolnet::probes
