#include "central/api/render.hpp"

#include <cmath>

#include "core/clock.hpp"

namespace schoolnet::central::api {

namespace json = boost::json;

std::string_view class_name(v1::DeviceClass c) {
  switch (c) {
    case v1::DEVICE_CLASS_SWITCH:
      return "switch";
    case v1::DEVICE_CLASS_ACCESS_POINT:
      return "access_point";
    case v1::DEVICE_CLASS_ROUTER:
      return "router";
    case v1::DEVICE_CLASS_PRINTER:
      return "printer";
    case v1::DEVICE_CLASS_UPS:
      return "ups";
    case v1::DEVICE_CLASS_SERVER:
      return "server";
    case v1::DEVICE_CLASS_DISPLAY:
      return "display";
    case v1::DEVICE_CLASS_CAMERA:
      return "camera";
    case v1::DEVICE_CLASS_PHONE:
      return "phone";
    case v1::DEVICE_CLASS_END_USER:
      return "end_user";
    default:
      return "unknown";
  }
}

std::string_view kind_name(v1::ProbeKind k) {
  switch (k) {
    case v1::PROBE_KIND_DNS:
      return "dns";
    case v1::PROBE_KIND_TCP:
      return "tcp";
    case v1::PROBE_KIND_TLS:
      return "tls";
    case v1::PROBE_KIND_HTTPS:
      return "https";
    case v1::PROBE_KIND_ICMP:
      return "icmp";
    default:
      return "unspecified";
  }
}

std::string_view change_kind_name(v1::DeviceChange::Kind k) {
  switch (k) {
    case v1::DeviceChange::APPEARED:
      return "appeared";
    case v1::DeviceChange::GONE:
      return "gone";
    case v1::DeviceChange::ADDRESS_CHANGED:
      return "address_changed";
    case v1::DeviceChange::FIRMWARE_CHANGED:
      return "firmware_changed";
    default:
      return "unspecified";
  }
}

void put_time(json::object& o, std::string_view key, int64_t ms) {
  const std::string ms_key = std::string(key) + "_ms";
  if (ms == 0) {
    o[key] = nullptr;
    o[ms_key] = nullptr;
    return;
  }
  o[key] = format_utc_ms(ms);
  o[ms_key] = ms;
}

namespace {

// Numbers from agents are untrusted: NaN and infinities are not JSON, so they become null.
json::value num(double v) {
  if (!std::isfinite(v)) {
    return nullptr;
  }
  return v;
}

template <typename Repeated>
json::array string_array(const Repeated& items) {
  json::array a;
  a.reserve(static_cast<size_t>(items.size()));
  for (const auto& s : items) {
    a.emplace_back(json::string(s));
  }
  return a;
}

std::string display_name(const v1::DeviceSnapshot& d) {
  if (!d.sys_name().empty()) {
    return d.sys_name();
  }
  if (!d.mdns_hostname().empty()) {
    return d.mdns_hostname();
  }
  if (d.addresses_size() > 0) {
    return d.addresses(0);
  }
  return d.device_id();
}

json::value tls_json(const v1::ProbeSample& s) {
  if (!s.has_tls()) {
    return nullptr;
  }
  const v1::TlsInfo& t = s.tls();
  json::object o;
  o["subject"] = t.subject();
  o["issuer"] = t.issuer();
  put_time(o, "not_before", t.not_before_ms());
  put_time(o, "not_after", t.not_after_ms());
  o["verified"] = t.verified();
  o["verify_error"] = t.verify_error();
  o["protocol"] = t.protocol();
  return o;
}

json::object window_json(const SummaryState& w) {
  const v1::ProbeSummary& s = w.summary;
  json::object o;
  o["count"] = s.count();
  o["failures"] = s.failures();
  o["p50_ms"] = num(s.latency_p50_ms());
  o["p95_ms"] = num(s.latency_p95_ms());
  o["max_ms"] = num(s.latency_max_ms());
  put_time(o, "window_start", s.window_start_ms());
  o["window_s"] = s.window_ms() / 1000.0;
  json::object classes;
  for (const auto& [k, v] : s.error_classes()) {
    classes[k] = v;
  }
  o["error_classes"] = std::move(classes);
  o["last_error"] = s.last_error();
  o["folded"] = s.folded();
  put_time(o, "observed_at", w.observed_ms);
  put_time(o, "received_at", w.received_ms);
  return o;
}

}  // namespace

json::object school_json(const SchoolSummary& s) {
  json::object o;
  o["school_id"] = s.school_id;
  put_time(o, "last_seen", s.last_seen_ms);
  o["device_count"] = s.device_count;
  o["agent_count"] = s.agent_count;
  o["probes_ok"] = s.probes_ok;
  o["probes_failing"] = s.probes_failing;
  return o;
}

json::object device_json(const DeviceRecord& rec) {
  const v1::DeviceSnapshot& d = rec.snapshot;
  json::object o;
  o["device_id"] = d.device_id();
  o["name"] = display_name(d);
  o["addresses"] = string_array(d.addresses());
  o["mac"] = d.mac();
  o["class"] = class_name(d.device_class());
  o["sys_name"] = d.sys_name();
  o["sys_descr"] = d.sys_descr();
  o["sys_object_id"] = d.sys_object_id();
  o["sys_location"] = d.sys_location();
  o["sys_contact"] = d.sys_contact();
  o["sys_uptime_ticks"] = d.sys_uptime_ticks();
  o["if_number"] = d.if_number();
  o["mdns_hostname"] = d.mdns_hostname();
  json::array services;
  for (const v1::MdnsService& s : d.services()) {
    json::object so;
    so["type"] = s.type();
    so["instance"] = s.instance();
    so["port"] = s.port();
    json::object txt;
    for (const v1::KeyValue& kv : s.txt()) {
      txt[kv.key()] = kv.value();
    }
    so["txt"] = std::move(txt);
    so["target_host"] = s.target_host();
    services.emplace_back(std::move(so));
  }
  o["services"] = std::move(services);
  o["sources"] = string_array(d.sources());
  put_time(o, "first_seen", rec.first_seen_ms);
  put_time(o, "last_seen", rec.last_seen_ms);
  o["gone"] = rec.gone_ms > 0;
  put_time(o, "gone_at", rec.gone_ms);
  o["vendor"] = d.vendor();
  o["model"] = d.model();
  o["serial"] = d.serial();
  o["firmware"] = d.firmware();
  o["manufacturer"] = d.manufacturer();
  o["hardware_revision"] = d.hardware_revision();
  if (d.has_uplink()) {
    const v1::SwitchPort& u = d.uplink();
    json::object uo;
    uo["switch"] = u.switch_name();
    uo["switch_device_id"] = u.switch_device_id();
    uo["port"] = u.port();
    uo["if_index"] = u.if_index();
    uo["vlan"] = u.vlan();
    o["uplink"] = std::move(uo);
  } else {
    o["uplink"] = nullptr;
  }
  json::array supplies;
  for (const v1::PrinterSupply& s : d.supplies()) {
    json::object so;
    so["description"] = s.description();
    so["type"] = s.type();
    so["level"] = s.level();
    so["max_capacity"] = s.max_capacity();
    so["percent"] = s.percent();
    supplies.emplace_back(std::move(so));
  }
  o["supplies"] = std::move(supplies);
  o["interfaces"] = d.interfaces_size();
  json::array walk_errors;
  for (const v1::WalkError& w : d.walk_errors()) {
    json::object wo;
    wo["table"] = w.table();
    wo["reason"] = w.reason();
    wo["detail"] = w.detail();
    walk_errors.emplace_back(std::move(wo));
  }
  o["walk_errors"] = std::move(walk_errors);
  o["snmp_error"] = d.snmp_error();
  o["pseudonymised"] = d.pseudonymised();
  put_time(o, "observed_at", rec.observed_ms);
  put_time(o, "received_at", rec.received_ms);
  return o;
}

json::object probe_json(const ProbeState& p) {
  json::object o;
  o["name"] = p.name;
  if (p.sample) {
    const v1::ProbeSample& s = *p.sample;
    o["kind"] = kind_name(s.kind());
    o["target"] = s.target();
    o["ok"] = s.ok();
    o["latency_ms"] = num(s.latency_ms());
    o["error"] = s.ok() ? std::string() : s.error_class();
    o["error_detail"] = s.error_detail();
    o["http_status"] = s.http_status();
    put_time(o, "observed_at", p.observed_ms);
    put_time(o, "received_at", p.received_ms);
    o["late"] = p.received_ms - p.observed_ms > kLateAfterMs;
    o["tls"] = tls_json(s);
    o["resolved_addresses"] = string_array(s.resolved_addresses());
    o["source"] = "sample";
  } else if (p.window) {
    // Only summaries arrived (raw samples were folded during an outage): state from the window.
    const v1::ProbeSummary& s = p.window->summary;
    o["kind"] = kind_name(s.kind());
    o["target"] = s.target();
    o["ok"] = s.failures() == 0;
    o["latency_ms"] = num(s.latency_p50_ms());
    o["error"] = s.failures() == 0 ? std::string() : s.last_error();
    o["error_detail"] = "";
    o["http_status"] = 0;
    put_time(o, "observed_at", p.window->observed_ms);
    put_time(o, "received_at", p.window->received_ms);
    o["late"] = p.window->received_ms - p.window->observed_ms > kLateAfterMs;
    o["tls"] = nullptr;
    o["resolved_addresses"] = json::array();
    o["source"] = "summary";
  }
  if (p.window) {
    o["window"] = window_json(*p.window);
  } else {
    o["window"] = nullptr;
  }
  return o;
}

json::object health_json(const v1::AgentHealth& h) {
  json::object o;
  o["produced"] = h.produced();
  o["acked"] = h.acked();
  o["pending_records"] = h.pending_records();
  o["pending_bytes"] = h.pending_bytes();
  o["evicted_total"] = h.evicted_total();
  json::object evicted;
  for (const auto& [k, v] : h.evicted()) {
    evicted[k] = v;
  }
  o["evicted"] = std::move(evicted);
  o["quarantined"] = h.quarantined();
  // The delivery invariant of the contract, checked here so the dashboard can flag a breach.
  o["accounting_ok"] =
      h.produced() == h.acked() + h.pending_records() + h.evicted_total() + h.quarantined();
  o["clock_synced"] = h.clock_synced();
  o["version"] = h.version();
  o["last_upload_error"] = h.last_upload_error();
  put_time(o, "last_upload_ok", h.last_upload_ok_ms());
  o["store_resets"] = h.store_resets();
  o["lost_uncommitted"] = h.lost_uncommitted();
  put_time(o, "oldest_pending", h.oldest_pending_ms());
  o["uptime_s"] = h.uptime_s();
  o["rss_bytes"] = h.rss_bytes();
  return o;
}

json::object agent_json(const AgentRecord& a) {
  json::object o;
  o["agent_id"] = a.agent_id;
  o["agent_version"] = a.agent_version;
  o["last_seq"] = a.last_seq;
  o["records_received"] = a.records_received;
  o["duplicates_dropped"] = a.duplicates_dropped;
  o["batches_received"] = a.batches_received;
  put_time(o, "first_seen", a.first_seen_ms);
  put_time(o, "last_seen", a.last_seen_ms);
  if (a.health) {
    json::object h = health_json(*a.health);
    put_time(h, "observed_at", a.health_observed_ms);
    put_time(h, "received_at", a.health_received_ms);
    o["health"] = std::move(h);
  } else {
    o["health"] = nullptr;
  }
  return o;
}

json::object link_json(const v1::TopologyLink& l) {
  json::object o;
  o["from_device_id"] = l.from_device_id();
  o["from_port"] = l.from_port();
  o["to_device_id"] = l.to_device_id();
  o["to_port"] = l.to_port();
  o["source"] = l.source();
  return o;
}

json::object change_json(const Stamped<v1::DeviceChange>& c) {
  json::object o;
  o["device_id"] = c.body.device_id();
  o["kind"] = change_kind_name(c.body.kind());
  o["before"] = c.body.before();
  o["after"] = c.body.after();
  o["class"] = class_name(c.body.device_class());
  put_time(o, "observed_at", c.observed_ms);
  put_time(o, "received_at", c.received_ms);
  return o;
}

json::object outage_json(const Stamped<v1::Outage>& e) {
  const v1::Outage& out = e.body;
  json::object o;
  o["scope"] = out.scope();
  o["cause"] = out.cause();
  o["detail"] = out.detail();
  put_time(o, "start", out.start_ms());
  put_time(o, "end", out.end_ms());
  o["ongoing"] = out.end_ms() == 0;
  if (out.end_ms() > 0 && out.start_ms() > 0 && out.end_ms() >= out.start_ms()) {
    o["duration_s"] = static_cast<double>(out.end_ms() - out.start_ms()) / 1000.0;
  } else {
    o["duration_s"] = nullptr;
  }
  put_time(o, "observed_at", e.observed_ms);
  put_time(o, "received_at", e.received_ms);
  return o;
}

json::object finding_json(const Stamped<v1::Finding>& f) {
  json::object o;
  o["id"] = f.body.id();
  o["severity"] = f.body.severity();
  o["title"] = f.body.title();
  o["evidence"] = f.body.evidence();
  o["standard"] = f.body.standard();
  put_time(o, "observed_at", f.observed_ms);
  put_time(o, "received_at", f.received_ms);
  return o;
}

json::object store_event_json(const Stamped<v1::StoreEvent>& e) {
  json::object o;
  o["agent_id"] = e.agent_id;
  o["kind"] = e.body.kind();
  o["detail"] = e.body.detail();
  o["moved_to"] = e.body.moved_to();
  put_time(o, "observed_at", e.observed_ms);
  put_time(o, "received_at", e.received_ms);
  return o;
}

json::object sample_json(const SampleRecord& r) {
  const v1::ProbeSample& s = r.sample;
  json::object o;
  o["name"] = s.name();
  o["kind"] = kind_name(s.kind());
  o["target"] = s.target();
  o["ok"] = s.ok();
  o["latency_ms"] = num(s.latency_ms());
  o["error"] = s.ok() ? std::string() : s.error_class();
  o["error_detail"] = s.error_detail();
  o["http_status"] = s.http_status();
  o["agent_id"] = r.agent_id;
  o["record_id"] = r.record_id;
  put_time(o, "observed_at", r.observed_ms);
  put_time(o, "received_at", r.received_ms);
  o["late"] = r.received_ms - r.observed_ms > kLateAfterMs;
  o["clock_synced"] = r.clock_synced;
  o["time_corrected"] = r.time_corrected;
  return o;
}

json::object summary_json(const SummaryState& w) {
  json::object o = window_json(w);
  o["name"] = w.summary.name();
  o["kind"] = kind_name(w.summary.kind());
  o["target"] = w.summary.target();
  return o;
}

json::object batch_json(const BatchRecord& b) {
  json::object o;
  o["seq"] = b.seq;
  o["records"] = b.records;
  o["first_record_id"] = b.first_record_id;
  o["last_record_id"] = b.last_record_id;
  put_time(o, "received_at", b.received_ms);
  return o;
}

}  // namespace schoolnet::central::api
