#include "central/ingest/handler.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <sys/stat.h>

#include "core/log.hpp"
#include "core/text.hpp"

namespace schoolnet::central::ingest {

namespace {

constexpr int kDefaultMaintenanceRetryS = 30;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Media type without parameters, lower case: "Application/X-Protobuf; q=1" ->
// "application/x-protobuf".
std::string media_type(std::string_view value) {
  return lower(trim(value.substr(0, value.find(';'))));
}

std::optional<Encoding> parse_encoding(const std::string* header) {
  if (header == nullptr) {
    return Encoding::identity;
  }
  const std::string v = lower(trim(*header));
  if (v.empty() || v == "identity") {
    return Encoding::identity;
  }
  if (v == "gzip" || v == "x-gzip") {
    return Encoding::gzip;
  }
  return std::nullopt;
}

// Content-Length when present and well-formed.
std::optional<uint64_t> content_length(const http::Request& request) {
  const std::string* v = request.header("content-length");
  if (v == nullptr) {
    return std::nullopt;
  }
  const std::string_view t = trim(*v);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc() || p != t.data() + t.size()) {
    return std::nullopt;
  }
  return n;
}

http::Response with_retry_after(http::Response r, int seconds) {
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

}  // namespace

IngestOptions IngestOptions::from_config(const Config& config) {
  IngestOptions o;
  o.max_body = config.max_body;
  o.max_decompressed = config.max_decompressed;
  o.max_records = config.max_records;
  o.agent_rate = config.agent_rate;
  o.maintenance_file = config.maintenance_file;
  return o;
}

std::optional<int> maintenance_retry_after(const std::string& path) {
  if (path.empty()) {
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  char buf[32] = {};
  size_t n = 0;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
  }
  const std::string_view text = trim(std::string_view(buf, n));
  int seconds = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || seconds < 1 ||
      seconds > 86'400) {
    return kDefaultMaintenanceRetryS;
  }
  return seconds;
}

IngestHandler::IngestHandler(IngestOptions options, const Credentials& credentials, Store& store,
                             const Clock& clock, IngestCounters& counters)
    : options_(std::move(options)),
      credentials_(credentials),
      store_(store),
      clock_(clock),
      counters_(counters),
      limiter_(static_cast<double>(options_.agent_rate)) {}

http::Response IngestHandler::finish(http::Response response) {
  counters_.count_request(response.status);
  return response;
}

http::Response IngestHandler::refuse(const http::Request& request,
                                     const AgentCredential* credential, int status,
                                     std::string_view reason) {
  // Never the token: the credential is named by its place in the configuration.
  log::info("upload refused", {{"status", status},
                               {"reason", reason},
                               {"credential", credential ? credential->label : "none"},
                               {"remote", request.remote}});
  return finish(http::text_response(status, reason));
}

std::optional<http::Response> IngestHandler::header_checks(const http::Request& request,
                                                           const AgentCredential*& credential) {
  credential = credentials_.agent(http::bearer_token(request));
  if (credential == nullptr) {
    http::Response r = refuse(request, nullptr, 401, "missing or unknown agent token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (auto retry = maintenance_retry_after(options_.maintenance_file)) {
    return with_retry_after(refuse(request, credential, 503, "central is in maintenance"), *retry);
  }
  if (auto len = content_length(request); len && *len > static_cast<uint64_t>(options_.max_body)) {
    return refuse(request, credential, 413,
                  "body larger than " + std::to_string(options_.max_body) + " bytes");
  }
  if (!parse_encoding(request.header("content-encoding"))) {
    return refuse(request, credential, 415, "unsupported Content-Encoding (use gzip or identity)");
  }
  if (const std::string* ct = request.header("content-type")) {
    const std::string type = media_type(*ct);
    if (type != "application/x-protobuf" && type != "application/octet-stream") {
      return refuse(request, credential, 415, "Content-Type must be application/x-protobuf");
    }
  }
  return std::nullopt;
}

std::optional<http::Response> IngestHandler::precheck(const http::Request& head) {
  const AgentCredential* credential = nullptr;
  return header_checks(head, credential);
}

http::Response IngestHandler::handle(const http::Request& request) {
  const auto started = std::chrono::steady_clock::now();
  const AgentCredential* credential = nullptr;
  if (auto refused = header_checks(request, credential)) {
    return *refused;
  }
  if (const int64_t wait_ms = limiter_.acquire(credential->label, clock_.mono_ms()); wait_ms > 0) {
    return with_retry_after(refuse(request, credential, 429, "upload rate limit exceeded"),
                            static_cast<int>((wait_ms + 999) / 1000));
  }
  if (static_cast<int64_t>(request.body.size()) > options_.max_body) {
    return refuse(request, credential, 413,
                  "body larger than " + std::to_string(options_.max_body) + " bytes");
  }
  const Encoding encoding = *parse_encoding(request.header("content-encoding"));
  auto batch = decode_batch(request.body, encoding,
                            DecodeLimits{options_.max_decompressed, options_.max_records});
  if (!batch) {
    return refuse(request, credential, status_for(batch.error()), batch.error().message);
  }
  if (batch->school_id() != credential->school_id) {
    return refuse(request, credential, 403, "school_id does not match the agent token");
  }
  if (!credential->agent_id.empty() && batch->agent_id() != credential->agent_id) {
    return refuse(request, credential, 403, "agent_id does not match the agent token");
  }

  auto applied = store_.apply_batch(*batch, clock_.wall_ms());
  if (!applied) {
    log::error("store failed to apply a batch", {{"school", batch->school_id()},
                                                 {"agent", batch->agent_id()},
                                                 {"seq", batch->seq()},
                                                 {"error", applied.error().to_string()}});
    return with_retry_after(finish(http::text_response(503, "store unavailable, retry later")),
                            options_.store_retry_after_s);
  }
  if (applied->duplicate) {
    counters_.add_duplicate();
  } else {
    counters_.add_records(applied->records);
  }
  log::debug("batch received", {{"school", batch->school_id()},
                                {"agent", batch->agent_id()},
                                {"seq", batch->seq()},
                                {"records", batch->records_size()},
                                {"duplicate", applied->duplicate}});

  v1::UploadAck ack;
  ack.set_acked_seq(batch->seq());
  ack.set_duplicate(applied->duplicate);
  ack.set_last_seq(applied->last_seq);
  http::Response response;
  response.status = 200;
  response.content_type = "application/x-protobuf";
  ack.SerializeToString(&response.body);
  counters_.observe_latency(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return finish(std::move(response));
}

}  // namespace schoolnet::central::ingest
