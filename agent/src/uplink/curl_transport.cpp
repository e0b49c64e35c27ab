#include "uplink/curl_transport.hpp"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>

#include <curl/curl.h>

#include "core/text.hpp"

namespace schoolnet::uplink {

namespace {

constexpr size_t kMaxResponseBody = 64 * 1024;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Sink {
  std::string body;
  int64_t retry_after_ms = -1;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t len = size * n;
  const size_t room = kMaxResponseBody - std::min(kMaxResponseBody, sink->body.size());
  sink->body.append(data, std::min(len, room));
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (char& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (lower == kName) {
      const std::string value(trim(line.substr(kName.size())));
      char* end = nullptr;
      const long secs = std::strtol(value.c_str(), &end, 10);
      if (end && *end == '\0' && !value.empty() && secs >= 0) {
        sink->retry_after_ms = static_cast<int64_t>(secs) * 1000;
      } else {
        const time_t when = curl_getdate(value.c_str(), nullptr);
        if (when > 0) {
          const time_t now = time(nullptr);
          sink->retry_after_ms = when > now ? static_cast<int64_t>(when - now) * 1000 : 0;
        }
      }
    }
  }
  return len;
}

// Maps a libcurl failure to the short classes status and logs use.
std::string classify(CURLcode rc, const char* detail) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return "dns";
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:
      return "proxy";
    case CURLE_COULDNT_CONNECT:
      return "connect";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_PEER_FAILED_VERIFICATION:
      if (detail && std::strstr(detail, "not yet valid")) {
        return "tls_not_yet_valid";
      }
      return "tls_untrusted";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return "tls";
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return "network";
    default:
      return "network";
  }
}

bool host_in_no_proxy(const std::string& host, const char* list) {
  if (!list || !*list) {
    return false;
  }
  std::string_view rest(list);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item == "*") {
      return true;
    }
    if (!item.empty() && item.front() == '.') {
      item.remove_prefix(1);
    }
    if (item.empty()) {
      continue;
    }
    if (host == item || (host.size() > item.size() &&
                         host.compare(host.size() - item.size(), item.size(), item) == 0 &&
                         host[host.size() - item.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

std::string host_of(const std::string& url) {
  std::string_view rest(url);
  const size_t scheme = rest.find("://");
  if (scheme != std::string_view::npos) {
    rest.remove_prefix(scheme + 3);
  }
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (!rest.empty() && rest.front() == '[') {
    return std::string(rest.substr(1, rest.find(']') - 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

}  // namespace

std::string proxy_from_environment(const std::string& host) {
  if (host_in_no_proxy(host, std::getenv("no_proxy")) ||
      host_in_no_proxy(host, std::getenv("NO_PROXY"))) {
    return {};
  }
  for (const char* name : {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* v = std::getenv(name);
    if (v && *v) {
      return v;
    }
  }
  return {};
}

struct CurlTransport::Impl {
  CurlTransportOptions options;
  std::unique_ptr<CURL, CurlDeleter> easy;
  std::string endpoint;
  std::string proxy;
};

CurlTransport::CurlTransport(CurlTransportOptions options) : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->options = std::move(options);
  impl_->endpoint = impl_->options.url + "/v1/batches";
  impl_->proxy = impl_->options.proxy.empty() ? proxy_from_environment(host_of(impl_->options.url))
                                              : impl_->options.proxy;
}

CurlTransport::~CurlTransport() = default;

Response CurlTransport::post_batch(const std::string& gzip_body) {
  Response out;
  if (!impl_->easy) {
    impl_->easy.reset(curl_easy_init());
    if (!impl_->easy) {
      out.error_class = "internal";
      out.error_detail = "curl_easy_init failed";
      return out;
    }
  }
  CURL* c = impl_->easy.get();
  curl_easy_reset(c);
  Sink sink;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string auth = "Authorization: Bearer " + impl_->options.token;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Type: application/x-protobuf");
  h = curl_slist_append(h, "Content-Encoding: gzip");
  h = curl_slist_append(h, auth.c_str());
  h = curl_slist_append(h, "Expect:");  // no 100-continue round trip for small bodies
  headers.reset(h);

  curl_easy_setopt(c, CURLOPT_URL, impl_->endpoint.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, gzip_body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(gzip_body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  if (!impl_->options.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, impl_->options.ca_file.c_str());
  }
  if (!impl_->proxy.empty()) {
    curl_easy_setopt(c, CURLOPT_PROXY, impl_->proxy.c_str());
    curl_easy_setopt(c, CURLOPT_PROXYAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_PROXY, "");  // and ignore libcurl's own environment lookup
  }
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(impl_->options.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(impl_->options.timeout_ms, 15'000)));
  // Abort a transfer that stalls mid-body instead of waiting for the whole timeout.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 20L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, impl_->options.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    out.error_class = classify(rc, errbuf);
    out.error_detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (!impl_->proxy.empty()) {
      // Through a proxy, say when it was the proxy that failed: it refused the tunnel (407:
      // wrong or missing credentials) or could not be reached at all.
      long connect_code = 0;
      curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &connect_code);
      if (connect_code != 0 && connect_code != 200) {
        out.error_class = "proxy";
        out.error_detail = "the proxy answered CONNECT with HTTP " + std::to_string(connect_code) +
                           (connect_code == 407 ? " (check the proxy user and password)" : "") +
                           " (" + out.error_detail + ")";
      } else if (rc == CURLE_COULDNT_CONNECT) {
        out.error_class = "proxy";
        out.error_detail = "cannot connect to the proxy (" + out.error_detail + ")";
      }
    }
    // The token never appears in libcurl's messages, but be certain before anything is logged.
    if (!impl_->options.token.empty()) {
      for (size_t p; (p = out.error_detail.find(impl_->options.token)) != std::string::npos;) {
        out.error_detail.replace(p, impl_->options.token.size(), "(token)");
      }
    }
    return out;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  out.body = std::move(sink.body);
  out.retry_after_ms = sink.retry_after_ms;
  return out;
}

}  // namespace schoolnet::uplink
