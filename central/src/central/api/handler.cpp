#include "central/api/handler.hpp"

#include <charconv>
#include <cstdint>
#include <optional>

#include <boost/json.hpp>

#include "central/api/metrics.hpp"
#include "central/api/render.hpp"
#include "core/log.hpp"

namespace schoolnet::central::api {

namespace json = boost::json;

namespace {

http::Response json_response(const json::value& v) {
  http::Response r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = json::serialize(v);
  r.body += '\n';
  return r;
}

http::Response store_failure(const Error& e) {
  log::error("store read failed", {{"error", e.to_string()}});
  http::Response r = http::text_response(503, "store unavailable, retry later");
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

http::Response not_found() {
  return http::text_response(404, "not found");
}

http::Response method_not_allowed(std::string_view allow) {
  http::Response r = http::text_response(405, "method not allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

template <typename Items, typename Render>
json::array to_array(const Items& items, Render&& render) {
  json::array a;
  a.reserve(items.size());
  for (const auto& item : items) {
    a.emplace_back(render(item));
  }
  return a;
}

}  // namespace

ApiHandler::ApiHandler(const Credentials& credentials, Store& store,
                       const ingest::IngestCounters& counters)
    : credentials_(credentials), store_(store), counters_(counters) {}

http::Response ApiHandler::handle(const http::Request& request) {
  const ApiCredential* credential = credentials_.api(http::bearer_token(request));
  if (credential == nullptr) {
    http::Response r = http::text_response(401, "missing or unknown API token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  auto segments = http::path_segments(request.path());
  if (!segments) {
    return http::text_response(400, "malformed path");
  }
  const std::vector<std::string>& seg = *segments;
  const bool get = request.method == "GET";

  if (seg.size() == 1 && seg[0] == "metrics") {
    return get ? metrics(*credential) : method_not_allowed("GET");
  }
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v1" || seg[2] != "schools") {
    return not_found();
  }
  if (seg.size() == 3) {
    return get ? schools(*credential) : method_not_allowed("GET");
  }
  const std::string& school_id = seg[3];
  if (seg.size() == 4) {
    if (request.method == "DELETE") {
      return delete_school(*credential, school_id);
    }
    return get ? school(request, *credential, school_id, "") : method_not_allowed("GET, DELETE");
  }
  if (seg.size() == 5) {
    return get ? school(request, *credential, school_id, seg[4]) : method_not_allowed("GET");
  }
  if (seg.size() == 7 && seg[4] == "agents" && seg[6] == "batches") {
    return get ? agent_batches(request, *credential, school_id, seg[5]) : method_not_allowed("GET");
  }
  return not_found();
}

http::Response ApiHandler::metrics(const ApiCredential& credential) {
  auto all = store_.schools();
  if (!all) {
    return store_failure(all.error());
  }
  std::vector<SchoolMetrics> visible;
  for (SchoolSummary& s : *all) {
    if (!credential.may_read(s.school_id)) {
      continue;
    }
    auto probes = store_.probes(s.school_id);
    if (!probes) {
      return store_failure(probes.error());
    }
    visible.push_back(SchoolMetrics{std::move(s), std::move(probes.value())});
  }
  http::Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = render_metrics(visible, counters_);
  return r;
}

http::Response ApiHandler::schools(const ApiCredential& credential) {
  auto all = store_.schools();
  if (!all) {
    return store_failure(all.error());
  }
  json::array a;
  for (const SchoolSummary& s : *all) {
    if (credential.may_read(s.school_id)) {
      a.emplace_back(school_json(s));
    }
  }
  return json_response(a);
}

http::Response ApiHandler::school(const http::Request& request, const ApiCredential& credential,
                                  const std::string& school_id, const std::string& what) {
  if (!credential.may_read(school_id)) {
    return not_found();  // as if absent: a token learns nothing about other schools
  }
  auto exists = store_.has_school(school_id);
  if (!exists) {
    return store_failure(exists.error());
  }
  if (!*exists) {
    return not_found();
  }
  size_t limit = kDefaultEventLimit;
  if (auto text = request.query_param("limit")) {
    size_t n = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || p != text->data() + text->size() || n == 0 || n > kMaxEventLimit) {
      return http::text_response(400, "limit must be 1.." + std::to_string(kMaxEventLimit));
    }
    limit = n;
  }

  auto respond = [](auto&& result, auto&& render) -> http::Response {
    if (!result) {
      return store_failure(result.error());
    }
    return json_response(to_array(*result, render));
  };
  if (what.empty()) {
    auto all = store_.schools();
    if (!all) {
      return store_failure(all.error());
    }
    for (const SchoolSummary& s : *all) {
      if (s.school_id == school_id) {
        return json_response(school_json(s));
      }
    }
    return not_found();
  }
  if (what == "devices") {
    return respond(store_.devices(school_id), device_json);
  }
  if (what == "probes") {
    return respond(store_.probes(school_id), probe_json);
  }
  if (what == "agents") {
    return respond(store_.agents(school_id), agent_json);
  }
  if (what == "topology") {
    auto t = store_.topology(school_id);
    if (!t) {
      return store_failure(t.error());
    }
    json::array links;
    if (*t) {
      for (const v1::TopologyLink& l : (*t)->topology.links()) {
        links.emplace_back(link_json(l));
      }
    }
    return json_response(links);
  }
  if (what == "changes") {
    return respond(store_.changes(school_id, limit), change_json);
  }
  if (what == "outages") {
    return respond(store_.outages(school_id, limit), outage_json);
  }
  if (what == "findings") {
    return respond(store_.findings(school_id, limit), finding_json);
  }
  if (what == "store_events") {
    return respond(store_.store_events(school_id, limit), store_event_json);
  }
  if (what == "samples" || what == "summaries") {
    std::string probe;
    if (request.query_param("probe")) {
      probe = *request.query_param("probe");
    }
    if (what == "samples") {
      return respond(store_.samples(school_id, probe, limit), sample_json);
    }
    return respond(store_.summaries(school_id, probe, limit), summary_json);
  }
  return not_found();
}

http::Response ApiHandler::agent_batches(const http::Request& request,
                                         const ApiCredential& credential,
                                         const std::string& school_id,
                                         const std::string& agent_id) {
  if (!credential.may_read(school_id)) {
    return not_found();
  }
  auto exists = store_.has_school(school_id);
  if (!exists) {
    return store_failure(exists.error());
  }
  if (!*exists) {
    return not_found();
  }
  auto number = [&](const char* name, uint64_t fallback, uint64_t max) -> std::optional<uint64_t> {
    auto text = request.query_param(name);
    if (!text) {
      return fallback;
    }
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || p != text->data() + text->size() || n > max) {
      return std::nullopt;
    }
    return n;
  };
  const auto after = number("after", 0, UINT64_MAX);
  const auto limit = number("limit", kDefaultEventLimit, kMaxEventLimit);
  if (!after || !limit || *limit == 0) {
    return http::text_response(
        400, "after must be a seq and limit 1.." + std::to_string(kMaxEventLimit));
  }
  auto batches = store_.batches(school_id, agent_id, *after, static_cast<size_t>(*limit));
  if (!batches) {
    return store_failure(batches.error());
  }
  return json_response(to_array(*batches, batch_json));
}

http::Response ApiHandler::delete_school(const ApiCredential& credential,
                                         const std::string& school_id) {
  if (!credential.may_read(school_id)) {
    return not_found();
  }
  if (!credential.may_delete()) {
    return http::text_response(403, "only a token for every school (\"*\") may delete data");
  }
  auto deleted = store_.delete_school(school_id);
  if (!deleted) {
    return store_failure(deleted.error());
  }
  if (!*deleted) {
    return not_found();
  }
  log::notice("school data deleted on request",
              {{"school", school_id}, {"credential", credential.label}});
  http::Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

}  // namespace schoolnet::central::api
