#include "store/agent_store.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/log.hpp"

namespace schoolnet::store {

namespace {

constexpr int kSchemaVersion = 1;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS records(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  priority INTEGER NOT NULL,
  observed_at_ms INTEGER NOT NULL,
  mono_ms INTEGER NOT NULL,
  boot_id TEXT NOT NULL,
  clock_synced INTEGER NOT NULL,
  size INTEGER NOT NULL,
  batch_seq INTEGER,
  body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_evict ON records(priority, id) WHERE batch_seq IS NULL;
CREATE INDEX IF NOT EXISTS records_batch ON records(batch_seq) WHERE batch_seq IS NOT NULL;
CREATE TABLE IF NOT EXISTS batches(
  seq INTEGER PRIMARY KEY,
  created_at_ms INTEGER NOT NULL,
  record_count INTEGER NOT NULL,
  bytes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine(
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  record_count INTEGER NOT NULL,
  bytes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS devices(
  device_id TEXT PRIMARY KEY,
  snapshot BLOB NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  missed_passes INTEGER NOT NULL DEFAULT 0
);
)sql";

// Quarantined batches kept for inspection; older ones are dropped (their records stay counted).
constexpr int kQuarantineKept = 20;

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// Moves a database file and its WAL/SHM companions aside; returns the new main path.
std::string move_aside(const std::string& path, int64_t now_ms) {
  const std::string target = path + ".corrupt-" + std::to_string(now_ms / 1000);
  std::error_code ec;
  std::filesystem::rename(path, target, ec);
  for (const char* suffix : {"-wal", "-shm"}) {
    std::error_code ec2;
    std::filesystem::rename(path + suffix, target + suffix, ec2);
  }
  return ec ? std::string{} : target;
}

// What can still be read from a store that was moved aside: the next seq and the last record
// id. A fresh store continues from them, so seqs and record ids never repeat; when nothing is
// readable, central's acks tell the agent how far its seqs had gone (see Outbox::rebase).
struct Salvage {
  uint64_t next_seq = 0;
  int64_t last_record_id = 0;
};

// The page count a database header promises, or 0 when the header is not SQLite's.
uint64_t header_bytes(const std::string& path) {
  unsigned char h[100] = {};
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    return 0;
  }
  const size_t n = std::fread(h, 1, sizeof h, f);
  std::fclose(f);
  if (n != sizeof h || std::memcmp(h, "SQLite format 3", 16) != 0) {
    return 0;
  }
  uint64_t page = (static_cast<uint64_t>(h[16]) << 8) | h[17];
  page = page == 1 ? 65536 : page;
  const uint64_t pages = (static_cast<uint64_t>(h[28]) << 24) |
                         (static_cast<uint64_t>(h[29]) << 16) |
                         (static_cast<uint64_t>(h[30]) << 8) | h[31];
  return page * pages;
}

Salvage salvage(const std::string& moved_to) {
  Salvage out;
  if (moved_to.empty()) {
    return out;
  }
  // SQLite refuses a file shorter than its header says. A copy padded (sparsely) to that size
  // reads again wherever the pages that matter survived; the moved-aside file stays as it was.
  std::string path = moved_to;
  std::error_code ec;
  const uint64_t want = header_bytes(moved_to);
  const uint64_t have = std::filesystem::file_size(moved_to, ec);
  if (ec || want == 0) {
    return out;
  }
  if (have < want && want <= (1ull << 36)) {
    path = moved_to + ".salvage";
    std::filesystem::copy_file(moved_to, path, std::filesystem::copy_options::overwrite_existing,
                               ec);
    if (!ec) {
      std::filesystem::resize_file(path, want, ec);
    }
    if (ec) {
      std::filesystem::remove(path, ec);
      return out;
    }
  }
  struct Cleanup {
    std::string path;
    bool remove;
    ~Cleanup() {
      if (remove) {
        for (const char* suffix : {"", "-wal", "-shm"}) {
          std::error_code e;
          std::filesystem::remove(path + suffix, e);
        }
      }
    }
  } cleanup{path, path != moved_to};
  auto db = Database::open(path, SQLITE_OPEN_READONLY);
  if (!db) {
    return out;
  }
  if (auto st = db->prepare("SELECT value FROM state WHERE key = 'next_seq'"); st) {
    if (auto row = st->step(); row && *row) {
      const std::string v = st->column_text(0);
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (end && *end == '\0' && n > 0 && n < (1ull << 62)) {
        out.next_seq = n;
      }
    }
  }
  if (auto st = db->prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'"); st) {
    if (auto row = st->step(); row && *row && st->column_int(0) > 0) {
      out.last_record_id = st->column_int(0);
    }
  }
  return out;
}

bool is_unusable(const Error& e) {
  return e.code == "store_corrupt" || e.code == "store_io" ||
         e.message.find("file is not a database") != std::string::npos;
}

// A full file system makes SQLite fail with SQLITE_FULL, or with an I/O error when it cannot
// even size its shared-memory file. Neither says anything about the store itself.
bool is_space_problem(const Error& e, const std::string& path) {
  constexpr int64_t kNearlyFull = 1 << 20;
  return e.code == "store_full" || (e.code == "store_io" && free_disk_bytes(path) < kNearlyFull);
}

}  // namespace

int64_t free_disk_bytes(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  struct statvfs sv {};
  if (statvfs(dir.c_str(), &sv) != 0) {
    return INT64_MAX;
  }
  return static_cast<int64_t>(sv.f_bavail) * static_cast<int64_t>(sv.f_frsize);
}

std::string reserve_path(const std::string& path) {
  return path + ".reserve";
}

bool release_reserve(const std::string& path) {
  std::error_code ec;
  const bool removed = std::filesystem::remove(reserve_path(path), ec);
  if (removed) {
    log::warning("file system full: released the store's reserve to make room",
                 {{"path", reserve_path(path)}, {"bytes", kReserveBytes}});
  }
  return removed;
}

void ensure_reserve(const std::string& path, int64_t min_free_bytes) {
  std::error_code ec;
  const std::string r = reserve_path(path);
  if (std::filesystem::exists(r, ec) ||
      free_disk_bytes(path) < min_free_bytes + 4 * kReserveBytes) {
    return;
  }
  const int fd = ::open(r.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return;
  }
  const int rc = ::posix_fallocate(fd, 0, kReserveBytes);
  ::close(fd);
  if (rc != 0) {
    std::filesystem::remove(r, ec);
  }
}

Priority priority_of(const v1::Record& r) {
  switch (r.body_case()) {
    case v1::Record::kProbeSample:
      return Priority::raw_sample;
    case v1::Record::kProbeSummary:
      return Priority::summary;
    case v1::Record::kDeviceSnapshot:
    case v1::Record::kTopology:
      return Priority::snapshot;
    default:
      return Priority::critical;  // outages, device changes, findings, health, store events
  }
}

std::string kind_name(const v1::Record& r) {
  switch (r.body_case()) {
    case v1::Record::kProbeSample:
      return "probe_sample";
    case v1::Record::kProbeSummary:
      return "probe_summary";
    case v1::Record::kDeviceSnapshot:
      return "device_snapshot";
    case v1::Record::kDeviceChange:
      return "device_change";
    case v1::Record::kOutage:
      return "outage";
    case v1::Record::kFinding:
      return "finding";
    case v1::Record::kAgentHealth:
      return "agent_health";
    case v1::Record::kStoreEvent:
      return "store_event";
    case v1::Record::kTopology:
      return "topology";
    case v1::Record::BODY_NOT_SET:
      break;
  }
  return "empty";
}

Result<AgentStore> AgentStore::open(const std::string& path, const Clock& clock, OpenReport* report,
                                    bool read_only) {
  OpenReport local;
  OpenReport& rep = report ? *report : local;
  if (read_only) {
    auto db = Database::open(path, SQLITE_OPEN_READONLY);
    if (!db) {
      return db.error();
    }
    AgentStore s;
    s.db_ = std::move(*db);
    s.path_ = path;
    s.clock_ = &clock;
    (void)s.db_.exec("PRAGMA busy_timeout=5000");
    return s;
  }
  {
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
      std::filesystem::create_directories(parent, ec);
    }
  }
  bool released = false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto db = Database::open(path);
    Status st = db ? Status{} : Status{db.error()};
    if (st.ok()) {
      // quick_check reads every page's structure: it finds truncation and garbage, and an
      // unreadable header fails already at the first statement.
      auto check = db->pragma_text("quick_check");
      if (!check) {
        st = check.error();
      } else if (*check != "ok") {
        st = make_error("store_corrupt", "quick_check: " + *check);
      }
    }
    AgentStore s;
    if (st.ok()) {
      s.db_ = std::move(*db);
      s.path_ = path;
      s.clock_ = &clock;
      st = s.init_schema();
      if (st.ok()) {
        if (rep.reset) {
          (void)s.bump("store_resets", 1);
          const Salvage old = salvage(rep.moved_to);
          if (old.next_seq > 0) {
            (void)s.put_state("next_seq", std::to_string(old.next_seq));
          }
          if (old.last_record_id > 0) {
            if (auto seed =
                    s.db_.prepare("INSERT INTO sqlite_sequence(name, seq) VALUES('records', ?1)");
                seed) {
              (void)seed->bind(1, old.last_record_id).run();
            }
          }
          rep.salvaged_next_seq = old.next_seq;
          rep.salvaged_last_record_id = old.last_record_id;
        }
        // A batch sealed by an earlier process may have reached central in an attempt whose
        // answer that process never saw (it was killed mid-upload): it keeps its seq and bytes.
        if (auto sealed = s.in_flight(); sealed && *sealed) {
          (void)s.mark_maybe_delivered((*sealed)->first);
        }
        ensure_reserve(path, 0);
        return s;
      }
    }
    const Error err = st.error();
    if (is_space_problem(err, path)) {
      // Never move a healthy store aside because the disk is full. The reserve exists for this
      // moment: with it released the store opens and eviction can make room.
      s = AgentStore();
      if (db) {
        *db = Database();
      }
      if (!released && release_reserve(path)) {
        released = true;
        continue;
      }
      return make_error("store_full",
                        path + ": the file system is full (" + err.message + "); will retry");
    }
    if (rep.reset || !is_unusable(err)) {
      return err;
    }
    // Unusable: move it aside and start afresh; the caller reports the event.
    s = AgentStore();
    if (db) {
      *db = Database();
    }
    rep.reset = true;
    rep.reason = st.error().to_string();
    rep.moved_to = move_aside(path, clock.wall_ms());
    log::warning("store unusable, moved aside; starting a fresh one",
                 {{"path", path}, {"moved_to", rep.moved_to}, {"reason", rep.reason}});
    if (rep.moved_to.empty()) {
      // Could not rename (permissions?): remove so that a fresh store can start.
      std::remove(path.c_str());
      std::remove((path + "-wal").c_str());
      std::remove((path + "-shm").c_str());
    }
  }
  return make_error("store_open", path + ": could not open");
}

Status AgentStore::init_schema() {
  // auto_vacuum must be chosen before the first table exists; it lets compact() give pages back.
  for (const char* pragma :
       {"PRAGMA busy_timeout=5000", "PRAGMA auto_vacuum=INCREMENTAL", "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL", "PRAGMA journal_size_limit=4194304",
        "PRAGMA wal_autocheckpoint=500", "PRAGMA foreign_keys=OFF"}) {
    if (auto s = db_.exec(pragma); !s) {
      return s;
    }
  }
  auto version = db_.pragma_int("user_version");
  if (!version) {
    return version.error();
  }
  if (*version > kSchemaVersion) {
    return make_error("store_version", path_ + ": written by a newer agent (schema " +
                                           std::to_string(*version) + ")");
  }
  if (auto s = db_.exec(kSchema); !s) {
    return s;
  }
  return db_.exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
}

Status AgentStore::bump(const std::string& name, int64_t delta) {
  auto st = db_.prepare(
      "INSERT INTO counters(name, value) VALUES(?1, ?2) "
      "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
  if (!st) {
    return st.error();
  }
  return st->bind(1, name).bind(2, delta).run();
}

Result<int64_t> AgentStore::counter(const std::string& name) {
  auto st = db_.prepare("SELECT value FROM counters WHERE name = ?1");
  if (!st) {
    return st.error();
  }
  st->bind(1, name);
  auto row = st->step();
  if (!row) {
    return row.error();
  }
  return *row ? st->column_int(0) : 0;
}

Status AgentStore::append(std::vector<v1::Record>& records) {
  if (records.empty()) {
    return {};
  }
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) {
    return s;
  }
  if (auto s = insert_records(records); !s) {
    return s;
  }
  return tx.commit();
}

Status AgentStore::insert_records(std::vector<v1::Record>& records,
                                  const std::vector<int64_t>& ids) {
  if (!ids.empty() && ids.size() != records.size()) {
    return make_error("store_internal", "insert_records: one id per record");
  }
  auto ins = db_.prepare(
      "INSERT INTO records(kind, priority, observed_at_ms, mono_ms, boot_id, clock_synced, size, "
      "body, id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!ins) {
    return ins.error();
  }
  // Record ids come from the table's AUTOINCREMENT so they never repeat, even after deletes.
  auto next =
      db_.prepare("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name='records'), 0)");
  if (!next) {
    return next.error();
  }
  auto row = next->step();
  if (!row) {
    return row.error();
  }
  int64_t id = next->column_int(0);
  int64_t bytes = 0;
  std::string body;
  for (size_t i = 0; i < records.size(); ++i) {
    v1::Record& r = records[i];
    r.set_record_id(static_cast<uint64_t>(ids.empty() ? ++id : ids[i]));
    body.clear();
    r.SerializeToString(&body);
    bytes += static_cast<int64_t>(body.size());
    ins->bind(1, kind_name(r))
        .bind(2, static_cast<int64_t>(priority_of(r)))
        .bind(3, r.observed_at_ms())
        .bind(4, r.monotonic_ms())
        .bind(5, r.boot_id())
        .bind(6, static_cast<int64_t>(r.clock_synced() ? 1 : 0))
        .bind(7, static_cast<int64_t>(body.size()))
        .bind_blob(8, body)
        .bind(9, static_cast<int64_t>(r.record_id()));
    if (auto s = ins->run(); !s) {
      return s;
    }
  }
  const auto n = static_cast<int64_t>(records.size());
  for (auto [name, delta] : {std::pair<const char*, int64_t>{"produced", n},
                             {"pending_records", n},
                             {"pending_bytes", bytes}}) {
    if (auto s = bump(name, delta); !s) {
      return s;
    }
  }
  return {};
}

Result<std::optional<SealedBatch>> AgentStore::next_batch(const BatchHeader& header,
                                                          const BatchLimits& limits) {
  {
    auto st = db_.prepare("SELECT seq, record_count, bytes FROM batches ORDER BY seq LIMIT 1");
    if (!st) {
      return st.error();
    }
    auto row = st->step();
    if (!row) {
      return row.error();
    }
    if (*row) {
      SealedBatch b;
      b.seq = static_cast<uint64_t>(st->column_int(0));
      b.records = static_cast<uint64_t>(st->column_int(1));
      b.bytes = st->column_blob(2);
      return std::optional<SealedBatch>(std::move(b));
    }
  }
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) {
    return s.error();
  }
  int64_t max_records = limits.max_records;
  auto split_limit = get_state("split_max_records");
  if (!split_limit) {
    return split_limit.error();
  }
  if (*split_limit) {
    max_records = std::max<int64_t>(1, std::min<int64_t>(max_records, std::stoll(**split_limit)));
  }
  auto st =
      db_.prepare("SELECT id, body FROM records WHERE batch_seq IS NULL ORDER BY id LIMIT ?1");
  if (!st) {
    return st.error();
  }
  st->bind(1, max_records);

  v1::Batch head;
  head.set_agent_id(header.agent_id);
  head.set_school_id(header.school_id);
  head.set_created_at_ms(header.created_at_ms);
  head.set_agent_version(header.agent_version);
  head.set_created_clock_synced(header.clock_synced);

  auto seq_state = get_state("next_seq");
  if (!seq_state) {
    return seq_state.error();
  }
  const uint64_t seq = *seq_state ? std::stoull(**seq_state) : 1;
  head.set_seq(seq);
  std::string bytes;
  head.SerializeToString(&bytes);

  int64_t first = -1;
  int64_t last = -1;
  uint64_t count = 0;
  for (;;) {
    auto row = st->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      break;
    }
    const std::string body = st->column_blob(1);
    if (count > 0 && static_cast<int64_t>(bytes.size() + body.size()) > limits.max_bytes) {
      break;
    }
    // Field 6 (records), wire type 2: a Batch is its header fields followed by the records.
    bytes += static_cast<char>((6 << 3) | 2);
    append_varint(bytes, body.size());
    bytes += body;
    const int64_t id = st->column_int(0);
    if (first < 0) {
      first = id;
    }
    last = id;
    ++count;
  }
  if (count == 0) {
    return std::optional<SealedBatch>();
  }
  auto mark = db_.prepare(
      "UPDATE records SET batch_seq = ?1 WHERE id BETWEEN ?2 AND ?3 AND batch_seq IS NULL");
  auto ins = db_.prepare(
      "INSERT INTO batches(seq, created_at_ms, record_count, bytes) VALUES(?1, ?2, ?3, ?4)");
  if (!mark || !ins) {
    return (!mark ? mark.error() : ins.error());
  }
  if (auto s = mark->bind(1, static_cast<int64_t>(seq)).bind(2, first).bind(3, last).run(); !s) {
    return s.error();
  }
  if (auto s = ins->bind(1, static_cast<int64_t>(seq))
                   .bind(2, header.created_at_ms)
                   .bind(3, static_cast<int64_t>(count))
                   .bind_blob(4, bytes)
                   .run();
      !s) {
    return s.error();
  }
  if (auto s = put_state("next_seq", std::to_string(seq + 1)); !s) {
    return s.error();
  }
  if (auto s = tx.commit(); !s) {
    return s.error();
  }
  SealedBatch b;
  b.seq = seq;
  b.bytes = std::move(bytes);
  b.records = count;
  return std::optional<SealedBatch>(std::move(b));
}

Status AgentStore::acknowledge(uint64_t seq) {
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) {
    return s;
  }
  auto sum =
      db_.prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM records WHERE batch_seq = ?1");
  if (!sum) {
    return sum.error();
  }
  sum->bind(1, static_cast<int64_t>(seq));
  if (auto r = sum->step(); !r) {
    return r.error();
  }
  const int64_t n = sum->column_int(0);
  const int64_t bytes = sum->column_int(1);
  auto del = db_.prepare("DELETE FROM records WHERE batch_seq = ?1");
  auto delb = db_.prepare("DELETE FROM batches WHERE seq = ?1");
  if (!del || !delb) {
    return !del ? del.error() : delb.error();
  }
  if (auto s = del->bind(1, static_cast<int64_t>(seq)).run(); !s) {
    return s;
  }
  if (auto s = delb->bind(1, static_cast<int64_t>(seq)).run(); !s) {
    return s;
  }
  if (db_.changes() == 0 && n == 0) {
    return tx.commit();  // already acknowledged (a repeated ack): nothing to count
  }
  for (auto [name, delta] : {std::pair<const char*, int64_t>{"acked", n},
                             {"pending_records", -n},
                             {"pending_bytes", -bytes},
                             {"batches_acked", 1}}) {
    if (auto s = bump(name, delta); !s) {
      return s;
    }
  }
  // A successful delivery ends any shrinking forced by an earlier 413.
  auto clear = db_.prepare("DELETE FROM state WHERE key = 'split_max_records'");
  if (!clear) {
    return clear.error();
  }
  if (auto s = clear->run(); !s) {
    return s;
  }
  // When central last acknowledged, for `status`: kept in this transaction rather than in one
  // of its own, because every commit costs the SD card pages.
  if (clock_) {
    if (auto s = put_state("uplink_last_ok_ms", std::to_string(clock_->wall_ms())); !s) {
      return s;
    }
  }
  return tx.commit();
}

Status AgentStore::quarantine(uint64_t seq, const std::string& reason) {
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) {
    return s;
  }
  auto get = db_.prepare("SELECT record_count, bytes FROM batches WHERE seq = ?1");
  if (!get) {
    return get.error();
  }
  get->bind(1, static_cast<int64_t>(seq));
  auto row = get->step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return tx.commit();
  }
  const std::string bytes = get->column_blob(1);
  auto sum =
      db_.prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM records WHERE batch_seq = ?1");
  if (!sum) {
    return sum.error();
  }
  sum->bind(1, static_cast<int64_t>(seq));
  if (auto r = sum->step(); !r) {
    return r.error();
  }
  const int64_t n = sum->column_int(0);
  const int64_t size = sum->column_int(1);
  auto keep = db_.prepare(
      "INSERT OR REPLACE INTO quarantine(seq, at_ms, reason, record_count, bytes) "
      "VALUES(?1, ?2, ?3, ?4, ?5)");
  auto trim_q = db_.prepare(
      "DELETE FROM quarantine WHERE seq NOT IN (SELECT seq FROM quarantine ORDER BY seq DESC "
      "LIMIT ?1)");
  auto del = db_.prepare("DELETE FROM records WHERE batch_seq = ?1");
  auto delb = db_.prepare("DELETE FROM batches WHERE seq = ?1");
  if (!keep || !trim_q || !del || !delb) {
    return make_error("store_prepare", "quarantine statements");
  }
  if (auto s = keep->bind(1, static_cast<int64_t>(seq))
                   .bind(2, clock_->wall_ms())
                   .bind(3, reason)
                   .bind(4, n)
                   .bind_blob(5, bytes)
                   .run();
      !s) {
    return s;
  }
  if (auto s = trim_q->bind(1, static_cast<int64_t>(kQuarantineKept)).run(); !s) {
    return s;
  }
  if (auto s = del->bind(1, static_cast<int64_t>(seq)).run(); !s) {
    return s;
  }
  if (auto s = delb->bind(1, static_cast<int64_t>(seq)).run(); !s) {
    return s;
  }
  for (auto [name, delta] : {std::pair<const char*, int64_t>{"quarantined", n},
                             {"pending_records", -n},
                             {"pending_bytes", -size}}) {
    if (auto s = bump(name, delta); !s) {
      return s;
    }
  }
  return tx.commit();
}

Status AgentStore::split(uint64_t seq) {
  int64_t count = 0;
  {
    auto get = db_.prepare("SELECT record_count FROM batches WHERE seq = ?1");
    if (!get) {
      return get.error();
    }
    get->bind(1, static_cast<int64_t>(seq));
    auto row = get->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return {};
    }
    count = get->column_int(0);
  }
  if (count <= 1) {
    return quarantine(seq, "too large for central even alone (413)");
  }
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) {
    return s;
  }
  if (auto s = unseal_batch(static_cast<int64_t>(seq)); !s) {
    return s;
  }
  // The refused seq is never reused: the next batch gets a fresh one, so central can never
  // confuse the smaller batch with anything it might have half-seen.
  if (auto s = put_state("split_max_records", std::to_string(std::max<int64_t>(1, count / 2)));
      !s) {
    return s;
  }
  return tx.commit();
}

Status AgentStore::unseal_batch(int64_t seq) {
  auto unseal = db_.prepare("UPDATE records SET batch_seq = NULL WHERE batch_seq = ?1");
  auto delb = db_.prepare("DELETE FROM batches WHERE seq = ?1");
  if (!unseal || !delb) {
    return !unseal ? unseal.error() : delb.error();
  }
  if (auto s = unseal->bind(1, seq).run(); !s) {
    return s;
  }
  return delb->bind(1, seq).run();
}

Status AgentStore::rebase(uint64_t seq, uint64_t next_seq) {
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) {
    return s;
  }
  if (auto s = unseal_batch(static_cast<int64_t>(seq)); !s) {
    return s;
  }
  auto current = get_state("next_seq");
  if (!current) {
    return current.error();
  }
  const uint64_t have = *current ? std::stoull(**current) : 1;
  if (next_seq > have) {
    if (auto s = put_state("next_seq", std::to_string(next_seq)); !s) {
      return s;
    }
  }
  if (auto s = bump("seq_rebases", 1); !s) {
    return s;
  }
  return tx.commit();
}

Status AgentStore::mark_maybe_delivered(uint64_t seq) {
  return put_state("sealed_maybe_delivered", std::to_string(seq));
}

Result<std::optional<std::pair<uint64_t, uint64_t>>> AgentStore::in_flight() {
  auto st = db_.prepare("SELECT seq, record_count FROM batches ORDER BY seq LIMIT 1");
  if (!st) {
    return st.error();
  }
  auto row = st->step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return std::optional<std::pair<uint64_t, uint64_t>>();
  }
  return std::optional<std::pair<uint64_t, uint64_t>>(std::pair<uint64_t, uint64_t>(
      static_cast<uint64_t>(st->column_int(0)), static_cast<uint64_t>(st->column_int(1))));
}

Result<Accounting> AgentStore::accounting() {
  Accounting a;
  // One read transaction: the counters and the rows they account for are seen at one moment.
  Transaction tx(db_);
  if (auto s = tx.begin(/*immediate=*/false); !s) {
    return s.error();
  }
  auto st = db_.prepare("SELECT name, value FROM counters");
  if (!st) {
    return st.error();
  }
  for (;;) {
    auto row = st->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      break;
    }
    const std::string name = st->column_text(0);
    const auto v = static_cast<uint64_t>(std::max<int64_t>(0, st->column_int(1)));
    if (name == "produced") {
      a.produced = v;
    } else if (name == "acked") {
      a.acked = v;
    } else if (name == "quarantined") {
      a.quarantined = v;
    } else if (name == "lost_uncommitted") {
      a.lost_uncommitted = v;
    } else if (name == "store_resets") {
      a.store_resets = v;
    } else if (name == "batches_acked") {
      a.batches_acked = v;
    } else if (name.rfind("evicted/", 0) == 0) {
      a.evicted[name.substr(8)] = v;
      a.evicted_total += v;
    }
  }
  // Pending is what the outbox holds, counted from its rows rather than kept as a counter of
  // its own, so that balanced() checks the counters against the records themselves.
  auto rows = db_.prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM records");
  if (!rows) {
    return rows.error();
  }
  if (auto row = rows->step(); !row) {
    return row.error();
  }
  a.pending_records = static_cast<uint64_t>(rows->column_int(0));
  a.pending_bytes = static_cast<uint64_t>(rows->column_int(1));
  auto oldest = db_.prepare("SELECT observed_at_ms FROM records ORDER BY id LIMIT 1");
  if (!oldest) {
    return oldest.error();
  }
  auto row = oldest->step();
  if (!row) {
    return row.error();
  }
  a.oldest_pending_ms = *row ? oldest->column_int(0) : 0;
  return a;
}

Status AgentStore::count_lost_uncommitted(uint64_t records) {
  return bump("lost_uncommitted", static_cast<int64_t>(records));
}

Result<std::optional<std::string>> AgentStore::get_state(const std::string& key) {
  auto st = db_.prepare("SELECT value FROM state WHERE key = ?1");
  if (!st) {
    return st.error();
  }
  st->bind(1, key);
  auto row = st->step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(st->column_blob(0));
}

Status AgentStore::put_state(const std::string& key, const std::string& value) {
  auto st = db_.prepare(
      "INSERT INTO state(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
      "excluded.value");
  if (!st) {
    return st.error();
  }
  return st->bind(1, key).bind_blob(2, value).run();
}

Result<std::vector<StoredDevice>> AgentStore::devices() {
  auto st = db_.prepare(
      "SELECT device_id, snapshot, first_seen_ms, last_seen_ms, missed_passes FROM devices "
      "ORDER BY device_id");
  if (!st) {
    return st.error();
  }
  std::vector<StoredDevice> out;
  for (;;) {
    auto row = st->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      break;
    }
    out.push_back({st->column_text(0), st->column_blob(1), st->column_int(2), st->column_int(3),
                   st->column_int(4)});
  }
  return out;
}

Status AgentStore::put_devices(const std::vector<StoredDevice>& devices,
                               const std::vector<std::string>& removed) {
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) {
    return s;
  }
  auto up = db_.prepare(
      "INSERT INTO devices(device_id, snapshot, first_seen_ms, last_seen_ms, missed_passes) "
      "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(device_id) DO UPDATE SET snapshot = "
      "excluded.snapshot, first_seen_ms = excluded.first_seen_ms, last_seen_ms = "
      "excluded.last_seen_ms, missed_passes = excluded.missed_passes");
  auto del = db_.prepare("DELETE FROM devices WHERE device_id = ?1");
  if (!up || !del) {
    return !up ? up.error() : del.error();
  }
  for (const StoredDevice& d : devices) {
    if (auto s = up->bind(1, d.device_id)
                     .bind_blob(2, d.snapshot)
                     .bind(3, d.first_seen_ms)
                     .bind(4, d.last_seen_ms)
                     .bind(5, d.missed_passes)
                     .run();
        !s) {
      return s;
    }
  }
  for (const std::string& id : removed) {
    if (auto s = del->bind(1, id).run(); !s) {
      return s;
    }
  }
  return tx.commit();
}

Result<uint64_t> AgentStore::correct_unsynchronised_times(int64_t now_wall_ms, int64_t now_mono_ms,
                                                          const std::string& boot_id) {
  Transaction tx(db_);
  if (auto s = tx.begin(); !s) {
    return s.error();
  }
  // A sealed batch with records to correct is re-sealed later under a fresh seq, unless an
  // attempt may have left it at central: its seq must then keep its bytes.
  auto maybe = get_state("sealed_maybe_delivered");
  if (!maybe) {
    return maybe.error();
  }
  auto sealed = db_.prepare(
      "SELECT DISTINCT batch_seq FROM records WHERE clock_synced = 0 AND boot_id = ?1 AND "
      "batch_seq IS NOT NULL");
  if (!sealed) {
    return sealed.error();
  }
  sealed->bind(1, boot_id);
  std::vector<int64_t> unseal;
  for (;;) {
    auto row = sealed->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      break;
    }
    const int64_t seq = sealed->column_int(0);
    if (!*maybe || **maybe != std::to_string(seq)) {
      unseal.push_back(seq);
    }
  }
  sealed = Statement();
  for (const int64_t seq : unseal) {
    if (auto s = unseal_batch(seq); !s) {
      return s.error();
    }
  }
  auto sel = db_.prepare(
      "SELECT id, mono_ms, body FROM records WHERE clock_synced = 0 AND boot_id = ?1 AND "
      "batch_seq IS NULL");
  auto upd = db_.prepare(
      "UPDATE records SET observed_at_ms = ?2, clock_synced = 1, body = ?3, size = ?4 WHERE id = "
      "?1");
  if (!sel || !upd) {
    return make_error("store_prepare", "time correction statements");
  }
  sel->bind(1, boot_id);
  uint64_t corrected = 0;
  int64_t size_delta = 0;
  std::string body;
  for (;;) {
    auto row = sel->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      break;
    }
    v1::Record r;
    const std::string old = sel->column_blob(2);
    if (!r.ParseFromString(old)) {
      continue;  // cannot happen for bytes we wrote; never fatal
    }
    const int64_t observed = now_wall_ms - (now_mono_ms - sel->column_int(1));
    if (r.has_probe_summary()) {
      // The window was placed by the same wrong clock: it moves by as much.
      auto* w = r.mutable_probe_summary();
      w->set_window_start_ms(w->window_start_ms() + (observed - r.observed_at_ms()));
    }
    r.set_observed_at_ms(observed);
    r.set_time_corrected(true);
    r.set_clock_synced(true);
    body.clear();
    r.SerializeToString(&body);
    size_delta += static_cast<int64_t>(body.size()) - static_cast<int64_t>(old.size());
    if (auto s = upd->bind(1, sel->column_int(0))
                     .bind(2, observed)
                     .bind_blob(3, body)
                     .bind(4, static_cast<int64_t>(body.size()))
                     .run();
        !s) {
      return s.error();
    }
    ++corrected;
  }
  if (size_delta != 0) {
    if (auto s = bump("pending_bytes", size_delta); !s) {
      return s.error();
    }
  }
  if (auto s = tx.commit(); !s) {
    return s.error();
  }
  return corrected;
}

uint64_t AgentStore::file_bytes() const {
  uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path_ + suffix, ec);
    if (!ec) {
      total += n;
    }
  }
  return total;
}

Result<int64_t> AgentStore::reclaimable_bytes() {
  auto freelist = db_.pragma_int("freelist_count");
  if (!freelist) {
    return freelist.error();
  }
  auto page = db_.pragma_int("page_size");
  if (!page) {
    return page.error();
  }
  return *freelist * *page;
}

Status AgentStore::compact(int64_t min_free_pages) {
  auto freelist = db_.pragma_int("freelist_count");
  if (freelist && *freelist > 0 && *freelist >= min_free_pages) {
    return give_back_space();  // in small steps, so the WAL never grows by the whole backlog
  }
  // TRUNCATE resets the WAL to zero bytes; it can complete because the agent holds no
  // long-lived read transactions.
  return db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace schoolnet::store
