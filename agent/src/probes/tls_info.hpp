// What a certificate says, in the form ProbeSample carries.
#pragma once

#include <string>

#include <openssl/x509.h>

#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::probes {

// Subject/issuer in RFC 2253 form and the validity period of `cert`.
void describe_certificate(X509* cert, v1::TlsInfo& out);

// Maps an X509_V_ERR_* code to a ProbeSample error class.
std::string verify_error_class(long x509_error);

}  // namespace schoolnet::probes
