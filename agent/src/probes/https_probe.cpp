// The https probe: a GET with libcurl (no redirects followed, body discarded), timed phase by
// phase. Name resolution is ours (handed to libcurl with CURLOPT_RESOLVE) so that DNS failures
// are classified the same way as in every other probe. libcurl blocks, so the transfer runs on
// the blocking pool and the result comes back to the event loop.
#include <chrono>
#include <cstring>

#include <curl/curl.h>

#include "probes/probe.hpp"
#include "probes/resolver.hpp"
#include "probes/tls_info.hpp"

namespace schoolnet::probes {

namespace {

constexpr size_t kMaxBody = 256 * 1024;

struct Transfer {
  CURLcode rc = CURLE_OK;
  long status = 0;
  long verify_result = 0;
  long os_errno = 0;
  double connect_ms = 0;
  double tls_ms = 0;
  double first_byte_ms = 0;
  double total_ms = 0;
  std::string error;
  std::string subject;
  std::string issuer;
  std::string expire;
};

size_t discard(char*, size_t size, size_t n, void* user) {
  auto* seen = static_cast<size_t*>(user);
  *seen += size * n;
  return *seen > kMaxBody ? 0 : size * n;  // stop reading big pages: the timing is known
}

double us_to_ms(curl_off_t us) {
  return static_cast<double>(us) / 1000.0;
}

Transfer perform(const config::ProbeConfig& p, const std::string& address, int64_t timeout_ms) {
  Transfer t;
  CURL* c = curl_easy_init();
  if (!c) {
    t.rc = CURLE_FAILED_INIT;
    t.error = "curl_easy_init failed";
    return t;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  size_t seen = 0;
  const std::string resolve = p.host + ":" + std::to_string(p.port) + ":" + address;
  curl_slist* resolves = curl_slist_append(nullptr, resolve.c_str());
  curl_easy_setopt(c, CURLOPT_URL, p.target.c_str());
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolves);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // the probe measures the school's own path
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(timeout_ms, 1)));
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  if (!p.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, p.ca_file.c_str());
  }
  curl_easy_setopt(c, CURLOPT_USERAGENT, "schoolnet-probe/1");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &seen);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  t.rc = curl_easy_perform(c);
  if (t.rc == CURLE_WRITE_ERROR && seen > kMaxBody) {
    t.rc = CURLE_OK;  // we stopped it on purpose
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
  curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &t.verify_result);
  curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &t.os_errno);
  curl_off_t connect = 0, app = 0, first = 0, total = 0, lookup = 0;
  curl_easy_getinfo(c, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
  curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &app);
  curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &first);
  curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &total);
  t.connect_ms = us_to_ms(connect - lookup);
  t.tls_ms = app > 0 ? us_to_ms(app - connect) : 0;
  t.first_byte_ms = first > 0 ? us_to_ms(first) : 0;
  t.total_ms = us_to_ms(total);
  t.error = errbuf[0] ? errbuf : curl_easy_strerror(t.rc);
  curl_certinfo* certs = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &certs) == CURLE_OK && certs &&
      certs->num_of_certs > 0) {
    for (curl_slist* f = certs->certinfo[0]; f; f = f->next) {
      const std::string_view line(f->data);
      auto take = [&](std::string_view key, std::string& out) {
        if (line.rfind(key, 0) == 0) {
          out = std::string(line.substr(key.size()));
        }
      };
      take("Subject:", t.subject);
      take("Issuer:", t.issuer);
      take("Expire date:", t.expire);
    }
  }
  curl_slist_free_all(resolves);
  curl_easy_cleanup(c);
  return t;
}

std::string curl_error_class(const Transfer& t) {
  switch (t.rc) {
    case CURLE_COULDNT_CONNECT:
      if (t.os_errno == ECONNREFUSED) {
        return "connect_refused";
      }
      if (t.os_errno == EHOSTUNREACH) {
        return "host_unreachable";
      }
      if (t.os_errno == ENETUNREACH) {
        return "network_unreachable";
      }
      return "connect_error";
    case CURLE_OPERATION_TIMEDOUT:
      return t.connect_ms <= 0 ? "connect_timeout" : "timeout";
    case CURLE_PEER_FAILED_VERIFICATION:
      return verify_error_class(t.verify_result).empty() ? "tls_untrusted"
                                                         : verify_error_class(t.verify_result);
    case CURLE_SSL_CONNECT_ERROR:
      return "tls_handshake";
    default:
      return "http_error";
  }
}

}  // namespace

awaitable<void> run_https(const config::ProbeConfig& p, const ProbeEnv& env, v1::ProbeSample& s) {
  const auto start = std::chrono::steady_clock::now();
  Resolution r = co_await resolve_a(p.host, env.resolvers, p.timeout_ms);
  s.set_resolver(r.resolver);
  s.mutable_timings()->set_dns_ms(r.ms);
  for (const auto& a : r.addresses) {
    s.add_resolved_addresses(a);
  }
  if (!r.ok()) {
    s.set_ok(false);
    s.set_error_class(r.error_class);
    s.set_error_detail(r.error_detail);
    co_return;
  }
  const int64_t left = p.timeout_ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count();
  const std::string address = r.addresses.front();
  // Named, not temporary: g++ 12 destroys some temporaries of a co_await expression twice.
  auto job = [&p, address, left]() -> awaitable<Transfer> { co_return perform(p, address, left); };
  auto transfer = asio::co_spawn(*env.blocking, std::move(job), use_awaitable);
  Transfer t = co_await std::move(transfer);
  auto* tm = s.mutable_timings();
  tm->set_connect_ms(t.connect_ms);
  tm->set_tls_ms(t.tls_ms);
  tm->set_first_byte_ms(t.first_byte_ms);
  tm->set_total_ms(r.ms + t.total_ms);
  s.set_http_status(static_cast<uint32_t>(t.status));
  if (!t.subject.empty() || !t.issuer.empty()) {
    auto* info = s.mutable_tls();
    info->set_subject(t.subject);
    info->set_issuer(t.issuer);
    info->set_verified(t.verify_result == 0 && t.rc != CURLE_PEER_FAILED_VERIFICATION);
    const time_t expire = t.expire.empty() ? 0 : curl_getdate(t.expire.c_str(), nullptr);
    if (expire > 0) {
      info->set_not_after_ms(static_cast<int64_t>(expire) * 1000);
    }
  }
  s.set_latency_ms(r.ms + t.total_ms);
  if (t.rc != CURLE_OK) {
    s.set_ok(false);
    s.set_error_class(curl_error_class(t));
    s.set_error_detail(t.error);
    if (s.has_tls() && t.rc == CURLE_PEER_FAILED_VERIFICATION) {
      s.mutable_tls()->set_verify_error(t.error);
    }
    co_return;
  }
  if (t.status >= 400 || t.status < 100) {
    s.set_ok(false);
    s.set_error_class("http_status");
    s.set_error_detail("HTTP " + std::to_string(t.status) + " from " + p.target);
    co_return;
  }
  s.set_ok(true);
}

}  // namespace schoolnet::probes
