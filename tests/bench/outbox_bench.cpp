// Outbox throughput: records committed durably per second through AgentStore::append (WAL,
// synchronous=FULL, commits of --batch records), beside the same bytes inserted with bare
// SQLite under the same settings (the peer: what the storage costs without our accounting).
// Prints key=value figures for scripts/bench.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include <sqlite3.h>

#include "core/clock.hpp"
#include "core/proc.hpp"
#include "store/agent_store.hpp"

namespace {

using namespace schoolnet;

v1::Record sample(const Clock& clock, int i) {
  v1::Record r;
  r.set_observed_at_ms(clock.wall_ms());
  r.set_monotonic_ms(clock.mono_ms());
  r.set_boot_id(clock.boot_id());
  r.set_clock_synced(true);
  auto* s = r.mutable_probe_sample();
  s->set_name("Microsoft 365 sign-in (https)");
  s->set_kind(v1::PROBE_KIND_HTTPS);
  s->set_target("https://login.microsoftonline.com/");
  s->set_ok(i % 50 != 0);
  s->set_latency_ms(40.0 + i % 17);
  s->mutable_timings()->set_dns_ms(1.2);
  s->mutable_timings()->set_connect_ms(8.4);
  s->mutable_timings()->set_tls_ms(12.1);
  s->mutable_timings()->set_total_ms(41.5);
  s->set_http_status(200);
  s->add_resolved_addresses("198.18.0.10");
  return r;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "/tmp";
  const int total = argc > 2 ? std::atoi(argv[2]) : 200'000;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 1000;
  SystemClock clock;

  const std::string path = dir + "/outbox-bench.db";
  for (const char* s : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + s);
  }
  auto store = store::AgentStore::open(path, clock);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().to_string().c_str());
    return 1;
  }
  const uint64_t written_before = bytes_written();
  size_t payload = 0;
  const double t0 = now_s();
  for (int done = 0; done < total; done += batch) {
    std::vector<v1::Record> recs;
    for (int i = 0; i < batch; ++i) {
      recs.push_back(sample(clock, done + i));
    }
    payload += recs.front().ByteSizeLong() * recs.size();
    if (auto st = store->append(recs); !st) {
      std::fprintf(stderr, "append: %s\n", st.error().to_string().c_str());
      return 1;
    }
  }
  const double ours = now_s() - t0;
  const uint64_t written = bytes_written() - written_before;
  auto a = store->accounting();

  // The peer: the same serialized bytes into a bare table, same pragmas, same commit size.
  const std::string peer_path = dir + "/outbox-bench-peer.db";
  for (const char* s : {"", "-wal", "-shm"}) {
    std::filesystem::remove(peer_path + s);
  }
  sqlite3* db = nullptr;
  sqlite3_open(peer_path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE r(id INTEGER "
               "PRIMARY KEY, body BLOB)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO r(body) VALUES(?1)", -1, &ins, nullptr);
  std::string body;
  sample(clock, 1).SerializeToString(&body);
  const double p0 = now_s();
  for (int done = 0; done < total; done += batch) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int i = 0; i < batch; ++i) {
      sqlite3_bind_blob(ins, 1, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double peer = now_s() - p0;
  sqlite3_finalize(ins);
  sqlite3_close(db);

  std::printf("records=%d batch=%d\n", total, batch);
  std::printf("outbox_records_per_s=%.0f\n", total / ours);
  std::printf("bare_sqlite_records_per_s=%.0f\n", total / peer);
  std::printf("outbox_vs_bare_sqlite=%.2f\n", peer / ours);
  std::printf("outbox_bytes_written=%llu payload_bytes=%zu write_amplification=%.2f\n",
              static_cast<unsigned long long>(written), payload,
              payload ? static_cast<double>(written) / static_cast<double>(payload) : 0.0);
  std::printf("outbox_balanced=%s\n", a && a->balanced() ? "yes" : "no");
  std::printf("peak_rss_kib=%llu\n", static_cast<unsigned long long>(peak_rss_bytes() / 1024));
  for (const char* s : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + s);
    std::filesystem::remove(peer_path + s);
  }
  return 0;
}
