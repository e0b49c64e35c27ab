// Writes the seed corpus of central_ingest_fuzz into the directory given on the command line:
// gzip'd valid batches (every record kind), an identity-encoded batch, invalid batches, garbage,
// and raw HTTP requests. Run by hand when the contract grows; the output is committed.
#include <cstdio>
#include <fstream>
#include <string>

#include "core/gzip.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace {

namespace v1 = schoolnet::v1;

constexpr int64_t kT0 = 1'700'000'000'000;

v1::Batch batch(uint64_t seq, const std::string& school = "100001") {
  v1::Batch b;
  b.set_agent_id("fuzz-box");
  b.set_school_id(school);
  b.set_seq(seq);
  b.set_created_at_ms(kT0);
  b.set_agent_version("0.1.0");
  return b;
}

v1::Batch every_kind(uint64_t seq) {
  v1::Batch b = batch(seq);
  auto rec = [&] {
    v1::Record* r = b.add_records();
    r->set_observed_at_ms(kT0);
    r->set_clock_synced(true);
    return r;
  };
  auto* s = rec()->mutable_probe_sample();
  s->set_name("dns \"quoted\"\nname");
  s->set_kind(v1::PROBE_KIND_TLS);
  s->set_target("https://example.test/");
  s->set_ok(false);
  s->set_error_class("tls_untrusted");
  s->mutable_tls()->set_issuer("Proxy CA");
  auto* m = rec()->mutable_probe_summary();
  m->set_name("dns");
  m->set_count(60);
  m->set_failures(1);
  (*m->mutable_error_classes())["dns_timeout"] = 1;
  auto* d = rec()->mutable_device_snapshot();
  d->set_device_id("mac:aa:bb:cc:dd:ee:ff");
  d->add_addresses("10.0.0.2");
  d->set_sys_name("switch");
  d->mutable_uplink()->set_port("1");
  d->add_services()->add_txt()->set_key("k");
  d->add_supplies()->set_percent(10);
  d->add_walk_errors()->set_reason("timeout");
  d->add_interfaces()->set_if_index(1);
  rec()->mutable_device_change()->set_kind(v1::DeviceChange::GONE);
  rec()->mutable_outage()->set_scope("internet");
  rec()->mutable_finding()->set_id("f");
  (*rec()->mutable_agent_health()->mutable_evicted())["probe_sample/bound"] = 3;
  rec()->mutable_store_event()->set_kind("corrupt_store_quarantined");
  rec()->mutable_topology()->add_links()->set_from_device_id("a");
  return b;
}

std::string wire(const v1::Batch& b) {
  std::string out;
  b.SerializeToString(&out);
  return out;
}

bool write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out << bytes;
  return static_cast<bool>(out);
}

std::string http_post(const std::string& body) {
  return "POST /v1/batches HTTP/1.1\r\nHost: central\r\nAuthorization: Bearer fuzz-agent-token\r\n"
         "Content-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  v1::Batch small = batch(1);
  auto* r = small.add_records();
  r->set_observed_at_ms(kT0);
  r->mutable_probe_sample()->set_name("dns");
  r->mutable_probe_sample()->set_ok(true);
  const std::string all = schoolnet::gzip_compress(wire(every_kind(2)));
  bool ok = write(dir, "batch-small.gz", schoolnet::gzip_compress(wire(small)));
  ok = ok && write(dir, "batch-every-kind.gz", all);
  ok = ok && write(dir, "batch-identity.pb", wire(every_kind(3)));
  ok = ok && write(dir, "batch-seq0.gz", schoolnet::gzip_compress(wire(batch(0))));
  ok = ok && write(dir, "batch-other-school.gz", schoolnet::gzip_compress(wire(batch(4, "9"))));
  ok = ok && write(dir, "truncated.gz", all.substr(0, all.size() / 2));
  ok = ok && write(dir, "zeros-64k.gz", schoolnet::gzip_compress(std::string(64 * 1024, '\0')));
  ok = ok && write(dir, "garbage.bin", std::string("\xff\xfe\x00\x01garbage\x1f\x8b\x08", 14));
  ok = ok && write(dir, "http-post.txt", http_post(schoolnet::gzip_compress(wire(every_kind(5)))));
  ok = ok && write(dir, "http-get-api.txt",
                   "GET /api/v1/schools/100001/probes?limit=5 HTTP/1.1\r\nHost: central\r\n"
                   "Authorization: Bearer fuzz-api-token\r\n\r\n");
  ok = ok && write(dir, "http-chunked.txt",
                   "POST /v1/batches HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer "
                   "fuzz-agent-token\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  ok = ok && write(dir, "http-delete.txt",
                   "DELETE /api/v1/schools/100001 HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer "
                   "fuzz-api-token\r\n\r\n");
  return ok ? 0 : 1;
}
