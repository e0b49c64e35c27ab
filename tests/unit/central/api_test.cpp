#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "central/api/handler.hpp"
#include "harness.hpp"

namespace schoolnet::central {
namespace {

using namespace testing;
namespace json = boost::json;

constexpr int64_t kT0 = 1'700'000'000'000;

json::value body_json(const http::Response& r) {
  EXPECT_EQ(r.content_type, "application/json");
  return json::parse(r.body);
}

// A school with a bit of everything.
void populate(Harness& h) {
  v1::Batch b = make_batch(1);
  v1::Record* dev = add_device(b, "mac:aa:bb:cc:00:00:02", kT0);
  v1::DeviceSnapshot* d = dev->mutable_device_snapshot();
  d->set_sys_descr("Cisco IOS");
  d->set_sys_object_id("1.3.6.1.4.1.9.1.1");
  d->set_sys_uptime_ticks(12345);
  d->set_if_number(24);
  d->set_vendor("Cisco");
  d->set_firmware("15.2");
  d->add_sources("snmp");
  d->add_interfaces()->set_if_index(1);
  d->add_interfaces()->set_if_index(2);
  auto* w = d->add_walk_errors();
  w->set_table("ifTable");
  w->set_reason("oid_not_increasing");
  auto* up = d->mutable_uplink();
  up->set_switch_name("core");
  up->set_port("Gi0/1");
  up->set_vlan(10);
  v1::Record* printer = add_device(b, "mac:aa:bb:cc:00:00:09", kT0, "");
  v1::DeviceSnapshot* p = printer->mutable_device_snapshot();
  p->set_device_class(v1::DEVICE_CLASS_PRINTER);
  p->set_mdns_hostname("printer.local");
  auto* svc = p->add_services();
  svc->set_type("_ipp._tcp");
  svc->set_instance("Office printer");
  svc->set_port(631);
  auto* kv = svc->add_txt();
  kv->set_key("ty");
  kv->set_value("LaserJet");
  auto* supply = p->add_supplies();
  supply->set_description("Black toner");
  supply->set_percent(40);

  add_sample(b, "dns-google", kT0, true, 8.5);
  v1::Record* tls = add_sample(b, "m365", kT0, false);
  tls->mutable_probe_sample()->set_kind(v1::PROBE_KIND_TLS);
  tls->mutable_probe_sample()->mutable_tls()->set_issuer("Inspecting Proxy CA");
  tls->mutable_probe_sample()->mutable_tls()->set_not_after_ms(kT0 + 86'400'000);
  v1::Record* sum = b.add_records();
  sum->set_observed_at_ms(kT0);
  auto* s = sum->mutable_probe_summary();
  s->set_name("dns-google");
  s->set_kind(v1::PROBE_KIND_DNS);
  s->set_count(60);
  s->set_failures(2);
  s->set_latency_p50_ms(9);
  s->set_latency_p95_ms(30);
  s->set_latency_max_ms(80);
  s->set_window_start_ms(kT0 - 60'000);

  v1::Record* health = b.add_records();
  health->set_observed_at_ms(kT0);
  auto* ah = health->mutable_agent_health();
  ah->set_produced(10);
  ah->set_acked(6);
  ah->set_pending_records(3);
  ah->set_evicted_total(1);
  (*ah->mutable_evicted())["probe_sample/bound"] = 1;
  ah->set_version("0.1.0");

  v1::Record* topo = b.add_records();
  topo->set_observed_at_ms(kT0);
  auto* link = topo->mutable_topology()->add_links();
  link->set_from_device_id("mac:aa:bb:cc:00:00:02");
  link->set_from_port("Gi0/2");
  link->set_to_device_id("mac:aa:bb:cc:00:00:09");
  link->set_source("fdb");

  for (int i = 0; i < 2; ++i) {
    v1::Record* ch = b.add_records();
    ch->set_observed_at_ms(kT0 + i);
    ch->mutable_device_change()->set_device_id("dev-" + std::to_string(i));
    ch->mutable_device_change()->set_kind(v1::DeviceChange::APPEARED);
  }
  v1::Record* out = b.add_records();
  out->set_observed_at_ms(kT0);
  out->mutable_outage()->set_scope("internet");
  out->mutable_outage()->set_start_ms(kT0 - 600'000);
  out->mutable_outage()->set_cause("ISP link down");
  v1::Record* f = b.add_records();
  f->set_observed_at_ms(kT0);
  f->mutable_finding()->set_id("wifi.weak");
  f->mutable_finding()->set_severity("warning");
  ASSERT_EQ(h.post(b).status, 200);
}

TEST(CentralApi, ListsSchoolsWithCounts) {
  Harness h;
  populate(h);
  const http::Response r = h.get("/api/v1/schools");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value v = body_json(r);
  const json::array& a = v.as_array();
  ASSERT_EQ(a.size(), 1u);
  const json::object& s = a[0].as_object();
  EXPECT_EQ(s.at("school_id").as_string(), kSchool);
  EXPECT_EQ(s.at("last_seen_ms").as_int64(), h.clock().wall_ms());
  EXPECT_EQ(s.at("last_seen").as_string(), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(s.at("device_count").as_int64(), 2);
  EXPECT_EQ(s.at("agent_count").as_int64(), 1);
  EXPECT_EQ(s.at("probes_ok").as_int64(), 1);
  EXPECT_EQ(s.at("probes_failing").as_int64(), 1);
}

TEST(CentralApi, AFailureThatArrivesLateIsHistoryNotAFailingProbe) {
  Harness h;
  v1::Batch b = make_batch(1);
  // Observed an hour before it reached central: a backlog after an outage.
  add_sample(b, "m365", h.clock().wall_ms() - 3'600'000, false);
  ASSERT_EQ(h.post(b).status, 200);
  const json::value v = body_json(h.get("/api/v1/schools"));
  const json::object& s = v.as_array().at(0).as_object();
  EXPECT_EQ(s.at("probes_failing").as_int64(), 0);
  const json::value probes = body_json(h.get("/api/v1/schools/100001/probes"));
  const json::object& m365 = probes.as_array().at(0).as_object();
  EXPECT_FALSE(m365.at("ok").as_bool());
  EXPECT_TRUE(m365.at("late").as_bool());
}

// A switch is unplugged: the agent reports it gone after missed passes; the device list says
// so and the school's device count drops. Seen again later, it is present again.
TEST(CentralApi, ADeviceReportedGoneIsMarkedAndComesBackWhenSeenAgain) {
  Harness h;
  v1::Batch b = make_batch(1);
  add_device(b, "mac:aa:bb:cc:00:00:02", kT0);
  v1::Record* gone = b.add_records();
  gone->set_observed_at_ms(kT0 + 3'600'000);
  gone->mutable_device_change()->set_device_id("mac:aa:bb:cc:00:00:02");
  gone->mutable_device_change()->set_kind(v1::DeviceChange::GONE);
  ASSERT_EQ(h.post(b).status, 200);
  json::value devices = body_json(h.get("/api/v1/schools/100001/devices"));
  const json::object& d = devices.as_array().at(0).as_object();
  EXPECT_TRUE(d.at("gone").as_bool());
  EXPECT_EQ(d.at("gone_at_ms").as_int64(), kT0 + 3'600'000);
  EXPECT_EQ(body_json(h.get("/api/v1/schools")).as_array().at(0).at("device_count").as_int64(), 0);

  v1::Batch back = make_batch(2);
  add_device(back, "mac:aa:bb:cc:00:00:02", kT0 + 7'200'000);
  ASSERT_EQ(h.post(back).status, 200);
  devices = body_json(h.get("/api/v1/schools/100001/devices"));
  EXPECT_FALSE(devices.as_array().at(0).at("gone").as_bool());
  EXPECT_TRUE(devices.as_array().at(0).at("gone_at").is_null());
  EXPECT_EQ(body_json(h.get("/api/v1/schools")).as_array().at(0).at("device_count").as_int64(), 1);
}

TEST(CentralApi, DescribesDevicesWithEveryField) {
  Harness h;
  populate(h);
  const http::Response r = h.get("/api/v1/schools/100001/devices");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value v = body_json(r);
  const json::array& a = v.as_array();
  ASSERT_EQ(a.size(), 2u);
  const json::object& sw = a[0].as_object();
  for (const char* key :
       {"device_id",     "addresses",     "mac",          "name",         "sys_name",
        "sys_descr",     "sys_object_id", "sys_location", "sys_contact",  "sys_uptime_ticks",
        "if_number",     "mdns_hostname", "services",     "sources",      "first_seen",
        "first_seen_ms", "last_seen",     "last_seen_ms", "class",        "vendor",
        "model",         "serial",        "firmware",     "manufacturer", "hardware_revision",
        "uplink",        "supplies",      "interfaces",   "walk_errors",  "snmp_error",
        "pseudonymised"}) {
    EXPECT_TRUE(sw.contains(key)) << key;
  }
  EXPECT_EQ(sw.at("name").as_string(), "core-switch");
  EXPECT_EQ(sw.at("class").as_string(), "switch");
  EXPECT_EQ(sw.at("interfaces").as_int64(), 2);
  EXPECT_EQ(sw.at("uplink").at("switch").as_string(), "core");
  EXPECT_EQ(sw.at("uplink").at("vlan").as_int64(), 10);
  EXPECT_EQ(sw.at("walk_errors").at(0).at("reason").as_string(), "oid_not_increasing");
  EXPECT_EQ(sw.at("first_seen_ms").as_int64(), kT0);
  const json::object& pr = a[1].as_object();
  EXPECT_EQ(pr.at("name").as_string(), "printer.local");  // no sys_name: the mDNS host name
  EXPECT_EQ(pr.at("class").as_string(), "printer");
  EXPECT_TRUE(pr.at("uplink").is_null());
  EXPECT_EQ(pr.at("services").at(0).at("txt").at("ty").as_string(), "LaserJet");
  EXPECT_EQ(pr.at("services").at(0).at("port").as_int64(), 631);
  EXPECT_EQ(pr.at("supplies").at(0).at("percent").as_int64(), 40);
}

TEST(CentralApi, DeviceKeepsEarliestFirstSeenAndLatestLastSeen) {
  Harness h;
  v1::Batch b1 = make_batch(1);
  add_device(b1, "dev", kT0, "new-name");
  ASSERT_EQ(h.post(b1).status, 200);
  v1::Batch b2 = make_batch(2);
  add_device(b2, "dev", kT0 - 1000, "old-name");  // older snapshot arrives late
  ASSERT_EQ(h.post(b2).status, 200);
  const json::array a = body_json(h.get("/api/v1/schools/100001/devices")).as_array();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].at("first_seen_ms").as_int64(), kT0 - 1000);
  EXPECT_EQ(a[0].at("last_seen_ms").as_int64(), kT0);
  EXPECT_EQ(a[0].at("name").as_string(), "new-name");
}

TEST(CentralApi, DescribesProbesWithTlsWindowAndLateness) {
  Harness h;
  populate(h);
  const http::Response r = h.get("/api/v1/schools/100001/probes");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value v = body_json(r);
  const json::array& a = v.as_array();
  ASSERT_EQ(a.size(), 2u);
  const json::object& dns = a[0].as_object();
  EXPECT_EQ(dns.at("name").as_string(), "dns-google");
  EXPECT_EQ(dns.at("kind").as_string(), "https");
  EXPECT_EQ(dns.at("ok").as_bool(), true);
  EXPECT_EQ(dns.at("error").as_string(), "");
  EXPECT_DOUBLE_EQ(dns.at("latency_ms").as_double(), 8.5);
  EXPECT_TRUE(dns.at("tls").is_null());
  EXPECT_EQ(dns.at("late").as_bool(), false);
  EXPECT_EQ(dns.at("observed_at_ms").as_int64(), kT0);
  EXPECT_EQ(dns.at("received_at_ms").as_int64(), h.clock().wall_ms());
  const json::object& w = dns.at("window").as_object();
  EXPECT_EQ(w.at("count").as_int64(), 60);
  EXPECT_EQ(w.at("failures").as_int64(), 2);
  EXPECT_DOUBLE_EQ(w.at("p95_ms").as_double(), 30);
  const json::object& m365 = a[1].as_object();
  EXPECT_EQ(m365.at("ok").as_bool(), false);
  EXPECT_EQ(m365.at("error").as_string(), "connect_timeout");
  EXPECT_EQ(m365.at("kind").as_string(), "tls");
  EXPECT_EQ(m365.at("tls").at("issuer").as_string(), "Inspecting Proxy CA");
  EXPECT_EQ(m365.at("tls").at("not_after_ms").as_int64(), kT0 + 86'400'000);
  EXPECT_TRUE(m365.at("window").is_null());
}

TEST(CentralApi, MarksASampleReceivedMoreThanFiveMinutesLateAsLate) {
  Harness h;
  v1::Batch b = make_batch(1);
  add_sample(b, "dns", h.clock().wall_ms() - 6 * 60'000, true);
  ASSERT_EQ(h.post(b).status, 200);
  const json::array a = body_json(h.get("/api/v1/schools/100001/probes")).as_array();
  EXPECT_EQ(a.at(0).at("late").as_bool(), true);
}

TEST(CentralApi, DescribesAgentsWithTheirLatestHealth) {
  Harness h;
  populate(h);
  const http::Response r = h.get("/api/v1/schools/100001/agents");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value v = body_json(r);
  const json::array& a = v.as_array();
  ASSERT_EQ(a.size(), 1u);
  const json::object& ag = a[0].as_object();
  EXPECT_EQ(ag.at("agent_id").as_string(), kAgent);
  EXPECT_EQ(ag.at("last_seq").as_int64(), 1);
  EXPECT_EQ(ag.at("batches_received").as_int64(), 1);
  EXPECT_EQ(ag.at("duplicates_dropped").as_int64(), 0);
  EXPECT_GT(ag.at("records_received").as_int64(), 10);
  EXPECT_EQ(ag.at("last_seen_ms").as_int64(), h.clock().wall_ms());
  const json::object& health = ag.at("health").as_object();
  EXPECT_EQ(health.at("produced").as_int64(), 10);
  EXPECT_EQ(health.at("evicted").at("probe_sample/bound").as_int64(), 1);
  EXPECT_EQ(health.at("accounting_ok").as_bool(), true);
  EXPECT_EQ(health.at("version").as_string(), "0.1.0");
  for (const char* key : {"acked", "evicted_total", "quarantined", "pending_records",
                          "pending_bytes", "clock_synced", "last_upload_error", "store_resets",
                          "uptime_s", "rss_bytes", "observed_at", "received_at"}) {
    EXPECT_TRUE(health.contains(key)) << key;
  }
}

TEST(CentralApi, ServesTopologyAndEventsNewestFirst) {
  Harness h;
  populate(h);
  const json::array links = body_json(h.get("/api/v1/schools/100001/topology")).as_array();
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].at("from_port").as_string(), "Gi0/2");
  EXPECT_EQ(links[0].at("source").as_string(), "fdb");
  const json::array changes = body_json(h.get("/api/v1/schools/100001/changes")).as_array();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].at("device_id").as_string(), "dev-1");
  EXPECT_EQ(changes[0].at("kind").as_string(), "appeared");
  EXPECT_TRUE(changes[0].as_object().contains("received_at"));
  const json::array limited = body_json(h.get("/api/v1/schools/100001/changes?limit=1")).as_array();
  EXPECT_EQ(limited.size(), 1u);
  EXPECT_EQ(h.get("/api/v1/schools/100001/changes?limit=0").status, 400);
  const json::array outages = body_json(h.get("/api/v1/schools/100001/outages")).as_array();
  ASSERT_EQ(outages.size(), 1u);
  EXPECT_EQ(outages[0].at("ongoing").as_bool(), true);
  EXPECT_EQ(outages[0].at("cause").as_string(), "ISP link down");
  const json::array findings = body_json(h.get("/api/v1/schools/100001/findings")).as_array();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].at("id").as_string(), "wifi.weak");
}

TEST(CentralApi, TopologyReplacesTheSchoolsLinkSet) {
  Harness h;
  populate(h);
  v1::Batch b = make_batch(2);
  v1::Record* topo = b.add_records();
  topo->set_observed_at_ms(kT0 + 1000);
  topo->mutable_topology();  // no links any more
  ASSERT_EQ(h.post(b).status, 200);
  EXPECT_TRUE(body_json(h.get("/api/v1/schools/100001/topology")).as_array().empty());
}

TEST(CentralApi, RefusesAMissingOrWrongTokenWith401) {
  Harness h;
  populate(h);
  EXPECT_EQ(h.get("/api/v1/schools", "").status, 401);
  EXPECT_EQ(h.get("/api/v1/schools", "wrong").status, 401);
  EXPECT_EQ(h.get("/api/v1/schools", kAgentToken).status, 401);
  EXPECT_EQ(h.get("/metrics", "").status, 401);
}

TEST(CentralApi, ScopedTokenSeesOnlyItsSchools) {
  Harness h;
  populate(h);
  v1::Batch other = make_batch(1, kOtherSchool, "other-box");
  add_device(other, "dev", kT0);
  ASSERT_EQ(h.post(other, kOtherAgentToken).status, 200);

  EXPECT_EQ(body_json(h.get("/api/v1/schools")).as_array().size(), 2u);
  const json::array mine = body_json(h.get("/api/v1/schools", kSchoolToken)).as_array();
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].at("school_id").as_string(), kSchool);
  EXPECT_EQ(h.get("/api/v1/schools/100001/devices", kSchoolToken).status, 200);
  // Another school answers exactly as an absent one does.
  const http::Response hidden = h.get("/api/v1/schools/100002/devices", kSchoolToken);
  const http::Response absent = h.get("/api/v1/schools/999999/devices", kAllToken);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(absent.status, 404);
  EXPECT_EQ(hidden.body, absent.body);
  const http::Response metrics = h.get("/metrics", kSchoolToken);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("100002"), std::string::npos);
  EXPECT_NE(metrics.body.find("school_id=\"100001\""), std::string::npos);
}

TEST(CentralApi, DeletesASchoolsDataOnlyForAnAllSchoolsToken) {
  Harness h;
  populate(h);
  EXPECT_EQ(h.del("/api/v1/schools/100001", kSchoolToken).status, 403);
  EXPECT_EQ(h.del("/api/v1/schools/100001").status, 204);
  EXPECT_EQ(h.get("/api/v1/schools/100001/devices").status, 404);
  EXPECT_TRUE(body_json(h.get("/api/v1/schools")).as_array().empty());
  EXPECT_EQ(h.del("/api/v1/schools/100001").status, 404);
  for (const char* table : {"devices", "probe_samples", "agents", "batches", "device_changes"}) {
    auto db = sqlite::Database::open(h.dir().file("central.db"));
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(*db->query_int(std::string("SELECT count(*) FROM ") + table), 0) << table;
  }
}

TEST(CentralApi, AnswersUnknownPathsWith404AndWrongMethodsWith405) {
  Harness h;
  populate(h);
  EXPECT_EQ(h.get("/api/v1/nothing").status, 404);
  EXPECT_EQ(h.get("/api/v1/schools/100001/nothing").status, 404);
  EXPECT_EQ(h.get("/nothing").status, 404);
  EXPECT_EQ(h.del("/api/v1/schools").status, 405);
  EXPECT_EQ(h.get("/v1/batches").status, 405);
  EXPECT_EQ(h.get("/healthz", "").status, 200);
  EXPECT_EQ(h.get("/healthz", "").body, "ok\n");
}

TEST(CentralApi, RefusesRequestBodiesOnRoutesOtherThanUploads) {
  Harness h;
  http::Request r;
  r.method = "GET";
  r.target = "/api/v1/schools";
  r.set_header("authorization", std::string("Bearer ") + kAllToken);
  r.set_header("content-length", "1000000");
  EXPECT_EQ(h.send(r).status, 413);
  r.headers.pop_back();
  r.set_header("transfer-encoding", "chunked");
  EXPECT_EQ(h.send(r).status, 411);
}

// The delivery audit: per agent, every stored batch with the range of record ids it carried.
TEST(CentralApi, ListsAnAgentsBatchesInSeqOrderWithTheirRecordIdRanges) {
  Harness h;
  uint64_t id = 0;
  for (uint64_t seq : {1, 2, 4}) {
    v1::Batch b = make_batch(seq);
    for (int i = 0; i < 3; ++i) {
      add_sample(b, "dns", kT0, true)->set_record_id(++id);
    }
    ASSERT_EQ(h.post(b).status, 200);
  }
  const std::string path = "/api/v1/schools/100001/agents/sim-100001-box/batches";
  const http::Response r = h.get(path);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::array a = body_json(r).as_array();
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].at("seq").as_int64(), 1);
  EXPECT_EQ(a[0].at("records").as_int64(), 3);
  EXPECT_EQ(a[0].at("first_record_id").as_int64(), 1);
  EXPECT_EQ(a[0].at("last_record_id").as_int64(), 3);
  EXPECT_EQ(a[2].at("seq").as_int64(), 4);
  EXPECT_EQ(a[2].at("first_record_id").as_int64(), 7);
  EXPECT_EQ(a[2].at("last_record_id").as_int64(), 9);
  EXPECT_EQ(a[2].at("received_at_ms").as_int64(), h.clock().wall_ms());

  const json::array after = body_json(h.get(path + "?after=1&limit=1")).as_array();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].at("seq").as_int64(), 2);
  EXPECT_EQ(h.get(path + "?limit=0").status, 400);
  EXPECT_EQ(h.get(path + "?after=x").status, 400);
  EXPECT_TRUE(body_json(h.get("/api/v1/schools/100001/agents/nobody/batches")).as_array().empty());
  EXPECT_EQ(h.get("/api/v1/schools/100002/agents/sim-100001-box/batches").status, 404);
  EXPECT_EQ(h.get(path, kSchoolToken).status, 200);
}

TEST(CentralApi, ServesProbeSampleHistoryWithTheRecordEnvelope) {
  Harness h;
  v1::Batch b = make_batch(1);
  add_sample(b, "dns", kT0, true)->set_record_id(1);
  v1::Record* corrected = add_sample(b, "dns", kT0 + 1000, false);
  corrected->set_record_id(2);
  corrected->set_time_corrected(true);
  v1::Record* unsynced = add_sample(b, "https", kT0 + 2000, true);
  unsynced->set_record_id(3);
  unsynced->set_clock_synced(false);
  ASSERT_EQ(h.post(b).status, 200);

  const json::array all = body_json(h.get("/api/v1/schools/100001/samples")).as_array();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].at("record_id").as_int64(), 3);  // newest first
  EXPECT_EQ(all[0].at("clock_synced").as_bool(), false);
  EXPECT_EQ(all[0].at("agent_id").as_string(), kAgent);
  const json::array dns = body_json(h.get("/api/v1/schools/100001/samples?probe=dns")).as_array();
  ASSERT_EQ(dns.size(), 2u);
  EXPECT_EQ(dns[0].at("record_id").as_int64(), 2);
  EXPECT_EQ(dns[0].at("time_corrected").as_bool(), true);
  EXPECT_EQ(dns[0].at("clock_synced").as_bool(), true);
  EXPECT_EQ(dns[0].at("ok").as_bool(), false);
  EXPECT_EQ(dns[0].at("error").as_string(), "connect_timeout");
  EXPECT_EQ(dns[0].at("observed_at_ms").as_int64(), kT0 + 1000);
  EXPECT_EQ(dns[1].at("time_corrected").as_bool(), false);
  EXPECT_EQ(body_json(h.get("/api/v1/schools/100001/samples?limit=1")).as_array().size(), 1u);
  EXPECT_EQ(body_json(h.get("/api/v1/schools/100001/samples?probe=d%6Es")).as_array().size(), 2u);
  EXPECT_TRUE(body_json(h.get("/api/v1/schools/100001/samples?probe=none")).as_array().empty());
}

TEST(CentralApi, ServesSummaryHistoryNewestWindowFirst) {
  Harness h;
  v1::Batch b = make_batch(1);
  for (int i = 0; i < 3; ++i) {
    v1::Record* r = b.add_records();
    r->set_observed_at_ms(kT0 + i * 60'000);
    auto* s = r->mutable_probe_summary();
    s->set_name(i == 2 ? "other" : "dns");
    s->set_window_start_ms(kT0 + i * 60'000);
    s->set_window_ms(i == 1 ? 3'600'000 : 60'000);
    s->set_folded(i == 1);
    s->set_count(60);
  }
  ASSERT_EQ(h.post(b).status, 200);
  const json::array dns = body_json(h.get("/api/v1/schools/100001/summaries?probe=dns")).as_array();
  ASSERT_EQ(dns.size(), 2u);
  EXPECT_EQ(dns[0].at("name").as_string(), "dns");
  EXPECT_EQ(dns[0].at("folded").as_bool(), true);
  EXPECT_EQ(dns[0].at("window_s").as_double(), 3600.0);
  EXPECT_EQ(dns[1].at("window_start_ms").as_int64(), kT0);
  EXPECT_EQ(body_json(h.get("/api/v1/schools/100001/summaries")).as_array().size(), 3u);
  // A probe name with spaces, as a form would encode it ('+') and as a URL would (%20).
  v1::Batch spaced = make_batch(2);
  v1::Record* r = spaced.add_records();
  r->set_observed_at_ms(kT0);
  r->mutable_probe_summary()->set_name("Learning platform (dns)");
  ASSERT_EQ(h.post(spaced).status, 200);
  for (const char* q : {"Learning+platform+%28dns%29", "Learning%20platform%20(dns)"}) {
    EXPECT_EQ(body_json(h.get(std::string("/api/v1/schools/100001/summaries?probe=") + q))
                  .as_array()
                  .size(),
              1u)
        << q;
  }
}

TEST(CentralApi, RetentionSweepDeletesOldRecords) {
  Harness h;
  populate(h);
  auto report = h.store().sweep(kT0 + 10);
  ASSERT_TRUE(report.ok());
  EXPECT_GT(report->rows_deleted, 10);
  EXPECT_TRUE(body_json(h.get("/api/v1/schools/100001/devices")).as_array().empty());
  EXPECT_TRUE(body_json(h.get("/api/v1/schools/100001/changes")).as_array().empty());
  EXPECT_TRUE(body_json(h.get("/api/v1/schools/100001/probes")).as_array().empty());
}

}  // namespace
}  // namespace schoolnet::central
