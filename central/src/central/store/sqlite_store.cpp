// SqliteStore: opening, and applying batches. Reads, deletion and retention live in
// sqlite_store_read.cpp.
#include "central/store/sqlite_store.hpp"

#include <algorithm>

#include "central/store/schema.hpp"

namespace schoolnet::central {

namespace {

constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";

constexpr const char* kSeqFloor =
    "SELECT seq_floor FROM agents WHERE school_id = ?1 AND agent_id = ?2";
constexpr const char* kBatchSeen =
    "SELECT 1 FROM batches WHERE school_id = ?1 AND agent_id = ?2 AND seq = ?3";
constexpr const char* kCountDuplicate =
    "UPDATE agents SET duplicates_dropped = duplicates_dropped + 1 "
    "WHERE school_id = ?1 AND agent_id = ?2";
constexpr const char* kUpsertSchool =
    "INSERT INTO schools(school_id, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?2) "
    "ON CONFLICT(school_id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)";
constexpr const char* kUpsertAgent =
    "INSERT INTO agents(school_id, agent_id, last_seq, batches_received, records_received, "
    "first_seen_ms, last_seen_ms, agent_version) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?5, ?6) "
    "ON CONFLICT(school_id, agent_id) DO UPDATE SET "
    "last_seq = max(last_seq, excluded.last_seq), "
    "batches_received = batches_received + 1, "
    "records_received = records_received + excluded.records_received, "
    "last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), "
    "agent_version = CASE WHEN excluded.agent_version <> '' THEN excluded.agent_version "
    "ELSE agent_version END";
constexpr const char* kInsertBatch =
    "INSERT INTO batches(school_id, agent_id, seq, received_ms, records, first_record_id, "
    "last_record_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kLastSeq =
    "SELECT last_seq FROM agents WHERE school_id = ?1 AND agent_id = ?2";

constexpr const char* kInsertSample =
    "INSERT INTO probe_samples(school_id, name, observed_ms, received_ms, ok, latency_ms, sample, "
    "agent_id, record_id, clock_synced, time_corrected) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
// Latest state moves only forward in observed time: late samples fill history only.
constexpr const char* kUpsertProbeLatest =
    "INSERT INTO probe_latest(school_id, name, observed_ms, received_ms, ok, sample) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT(school_id, name) DO UPDATE SET observed_ms = excluded.observed_ms, "
    "received_ms = excluded.received_ms, ok = excluded.ok, sample = excluded.sample "
    "WHERE excluded.observed_ms >= probe_latest.observed_ms";
constexpr const char* kInsertSummary =
    "INSERT INTO probe_summaries(school_id, name, window_start_ms, observed_ms, received_ms, "
    "summary, agent_id, record_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kUpsertSummaryLatest =
    "INSERT INTO summary_latest(school_id, name, observed_ms, received_ms, window_start_ms, ok, "
    "summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT(school_id, name) DO UPDATE SET observed_ms = excluded.observed_ms, "
    "received_ms = excluded.received_ms, window_start_ms = excluded.window_start_ms, "
    "ok = excluded.ok, summary = excluded.summary "
    "WHERE (excluded.observed_ms, excluded.window_start_ms) >= "
    "(summary_latest.observed_ms, summary_latest.window_start_ms)";
// first_seen is the earliest and last_seen the latest over every snapshot; the fields come
// from the snapshot observed last.
constexpr const char* kUpsertDevice =
    "INSERT INTO devices(school_id, device_id, first_seen_ms, last_seen_ms, observed_ms, "
    "received_ms, device_class, snapshot) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT(school_id, device_id) DO UPDATE SET "
    "first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), "
    "last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), "
    "snapshot = CASE WHEN excluded.observed_ms >= observed_ms THEN excluded.snapshot "
    "ELSE snapshot END, "
    "device_class = CASE WHEN excluded.observed_ms >= observed_ms THEN excluded.device_class "
    "ELSE device_class END, "
    "received_ms = CASE WHEN excluded.observed_ms >= observed_ms THEN excluded.received_ms "
    "ELSE received_ms END, "
    "gone_ms = CASE WHEN excluded.last_seen_ms > gone_ms THEN 0 ELSE gone_ms END, "
    "observed_ms = max(observed_ms, excluded.observed_ms)";
// A device is gone from the time the agent said so until it is seen again.
constexpr const char* kMarkGone =
    "UPDATE devices SET gone_ms = ?3 WHERE school_id = ?1 AND device_id = ?2 AND "
    "last_seen_ms <= ?3 AND gone_ms < ?3";
constexpr const char* kInsertChange =
    "INSERT INTO device_changes(school_id, device_id, observed_ms, received_ms, body) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
// An outage is reported while it lasts and again when it ends: one row per (scope, start).
constexpr const char* kUpsertOutage =
    "INSERT INTO outages(school_id, scope, start_ms, observed_ms, received_ms, body) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT(school_id, scope, start_ms) DO UPDATE SET observed_ms = excluded.observed_ms, "
    "received_ms = excluded.received_ms, body = excluded.body "
    "WHERE excluded.observed_ms >= outages.observed_ms";
constexpr const char* kInsertFinding =
    "INSERT INTO findings(school_id, finding_id, observed_ms, received_ms, body) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kInsertHealth =
    "INSERT INTO agent_health(school_id, agent_id, observed_ms, received_ms, health) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kUpdateAgentHealth =
    "UPDATE agents SET health = ?3, health_observed_ms = ?4, health_received_ms = ?5 "
    "WHERE school_id = ?1 AND agent_id = ?2 AND health_observed_ms <= ?4";
constexpr const char* kInsertStoreEvent =
    "INSERT INTO store_events(school_id, agent_id, observed_ms, received_ms, body) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kUpsertTopology =
    "INSERT INTO topology(school_id, observed_ms, received_ms, body) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT(school_id) DO UPDATE SET observed_ms = excluded.observed_ms, "
    "received_ms = excluded.received_ms, body = excluded.body "
    "WHERE excluded.observed_ms >= topology.observed_ms";

std::string serialized(const google::protobuf::MessageLite& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

// Seq travels as uint64; SQLite stores int64. Validation rejects seq above INT64_MAX.
int64_t as_int64(uint64_t v) {
  return static_cast<int64_t>(v);
}

Error fail_open(const std::string& path, const Error& e) {
  return make_error(e.code, path + ": " + e.message);
}

Status configure(sqlite::Database& db, int busy_timeout_ms, bool memory) {
  // FULL: an ack promises the batch survives a power cut (the agent then forgets it).
  const std::string pragmas = std::string(memory ? "" : "PRAGMA journal_mode = WAL;") +
                              "PRAGMA synchronous = FULL;"
                              "PRAGMA foreign_keys = OFF;"
                              "PRAGMA temp_store = MEMORY;"
                              "PRAGMA busy_timeout = " +
                              std::to_string(busy_timeout_ms) + ";";
  return db.exec(pragmas);
}

}  // namespace

Result<sqlite::Statement*> SqliteStore::Connection::statement(const char* sql) {
  auto it = statements.find(sql);
  if (it != statements.end()) {
    return &it->second;
  }
  auto prepared = db.prepare(sql);
  if (!prepared) {
    return prepared.error();
  }
  auto [pos, inserted] = statements.emplace(sql, std::move(prepared.value()));
  (void)inserted;
  return &pos->second;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(SqliteStoreOptions options) {
  const bool memory = options.path == ":memory:" || options.path.empty();
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(options)));
  const std::string& path = store->options_.path.empty() ? ":memory:" : store->options_.path;
  auto db = sqlite::Database::open(path);
  if (!db) {
    return db.error();
  }
  store->writer_.db = std::move(db.value());
  if (auto s = configure(store->writer_.db, store->options_.busy_timeout_ms, memory); !s) {
    return fail_open(path, s.error());
  }
  if (auto s = sqlite::migrate(store->writer_.db); !s) {
    return fail_open(path, s.error());
  }
  if (!memory) {
    store->reader_storage_ = std::make_unique<Connection>();
    auto rdb = sqlite::Database::open(path);
    if (!rdb) {
      return rdb.error();
    }
    store->reader_storage_->db = std::move(rdb.value());
    if (auto s = configure(store->reader_storage_->db, store->options_.busy_timeout_ms, false);
        !s) {
      return fail_open(path, s.error());
    }
    store->reader_ = store->reader_storage_.get();
  }
  return store;
}

Status SqliteStore::write(sqlite::Statement& stmt) {
  if (options_.fail_write && options_.fail_write()) {
    stmt.reset();
    return make_error("store_fault", "injected write failure");
  }
  return stmt.run();
}

Result<ApplyOutcome> SqliteStore::apply_batch(const v1::Batch& batch, int64_t received_ms) {
  std::lock_guard lock(writer_.mutex);
  Connection& c = writer_;
  auto begin = c.statement(kBegin);
  if (!begin) {
    return begin.error();
  }
  if (auto s = (*begin)->run(); !s) {
    return s.error();
  }
  bool committed = false;
  struct Rollback {
    Connection& c;
    bool& committed;
    ~Rollback() {
      if (!committed) {
        (void)c.db.exec(kRollback);
      }
    }
  } rollback{c, committed};

  const std::string& school = batch.school_id();
  const std::string& agent = batch.agent_id();
  const int64_t seq = as_int64(batch.seq());

  // Dedup: a seq at or below the agent's floor (pruned by retention) or recorded in batches.
  bool duplicate = false;
  {
    auto floor = c.statement(kSeqFloor);
    if (!floor) {
      return floor.error();
    }
    (*floor)->bind_text(1, school).bind_text(2, agent);
    auto row = (*floor)->step();
    if (!row) {
      (*floor)->reset();
      return row.error();
    }
    duplicate = *row && seq <= (*floor)->int64(0);
    (*floor)->reset();
  }
  if (!duplicate) {
    auto seen = c.statement(kBatchSeen);
    if (!seen) {
      return seen.error();
    }
    (*seen)->bind_text(1, school).bind_text(2, agent).bind(3, seq);
    auto row = (*seen)->step();
    (*seen)->reset();
    if (!row) {
      return row.error();
    }
    duplicate = *row;
  }

  ApplyOutcome outcome;
  if (duplicate) {
    auto stmt = c.statement(kCountDuplicate);
    if (!stmt) {
      return stmt.error();
    }
    (*stmt)->bind_text(1, school).bind_text(2, agent);
    if (auto s = write(**stmt); !s) {
      return s.error();
    }
    outcome.duplicate = true;
  } else {
    auto sch = c.statement(kUpsertSchool);
    if (!sch) {
      return sch.error();
    }
    (*sch)->bind_text(1, school).bind(2, received_ms);
    if (auto s = write(**sch); !s) {
      return s.error();
    }
    auto ag = c.statement(kUpsertAgent);
    if (!ag) {
      return ag.error();
    }
    (*ag)
        ->bind_text(1, school)
        .bind_text(2, agent)
        .bind(3, seq)
        .bind(4, static_cast<int64_t>(batch.records_size()))
        .bind(5, received_ms)
        .bind_text(6, batch.agent_version());
    if (auto s = write(**ag); !s) {
      return s.error();
    }
    if (auto s = apply_records(c, batch, received_ms); !s) {
      return s.error();
    }
    // The range of record ids the batch carried (0 when the agent did not number them).
    uint64_t first_id = 0;
    uint64_t last_id = 0;
    for (const v1::Record& r : batch.records()) {
      if (r.record_id() == 0) {
        continue;
      }
      first_id = first_id == 0 ? r.record_id() : std::min(first_id, r.record_id());
      last_id = std::max(last_id, r.record_id());
    }
    auto ins = c.statement(kInsertBatch);
    if (!ins) {
      return ins.error();
    }
    (*ins)
        ->bind_text(1, school)
        .bind_text(2, agent)
        .bind(3, seq)
        .bind(4, received_ms)
        .bind(5, static_cast<int64_t>(batch.records_size()))
        .bind(6, as_int64(first_id))
        .bind(7, as_int64(last_id));
    if (auto s = write(**ins); !s) {
      return s.error();
    }
    outcome.records = static_cast<uint64_t>(batch.records_size());
  }
  {
    auto last = c.statement(kLastSeq);
    if (!last) {
      return last.error();
    }
    (*last)->bind_text(1, school).bind_text(2, agent);
    auto row = (*last)->step();
    if (!row) {
      (*last)->reset();
      return row.error();
    }
    outcome.last_seq = *row ? static_cast<uint64_t>((*last)->int64(0)) : 0;
    (*last)->reset();
  }

  auto commit = c.statement(kCommit);
  if (!commit) {
    return commit.error();
  }
  if (auto s = write(**commit); !s) {
    return s.error();
  }
  committed = true;
  return outcome;
}

Status SqliteStore::apply_records(Connection& c, const v1::Batch& batch, int64_t received_ms) {
  const std::string& school = batch.school_id();
  auto run = [&](const char* sql, auto&& binder) -> Status {
    auto stmt = c.statement(sql);
    if (!stmt) {
      return stmt.error();
    }
    binder(**stmt);
    return write(**stmt);
  };

  for (const v1::Record& r : batch.records()) {
    // An agent that has not set the time (never expected) is taken at its word of "now".
    const int64_t observed = r.observed_at_ms() > 0 ? r.observed_at_ms() : received_ms;
    Status s;
    switch (r.body_case()) {
      case v1::Record::kProbeSample: {
        const v1::ProbeSample& p = r.probe_sample();
        const std::string blob = serialized(p);
        const int64_t ok = p.ok() ? 1 : 0;
        s = run(kInsertSample, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind_text(2, p.name()).bind(3, observed).bind(4, received_ms);
          st.bind(5, ok).bind(6, p.latency_ms()).bind_blob(7, blob);
          st.bind_text(8, batch.agent_id()).bind(9, as_int64(r.record_id()));
          st.bind(10, int64_t{r.clock_synced() ? 1 : 0});
          st.bind(11, int64_t{r.time_corrected() ? 1 : 0});
        });
        if (s) {
          s = run(kUpsertProbeLatest, [&](sqlite::Statement& st) {
            st.bind_text(1, school).bind_text(2, p.name()).bind(3, observed).bind(4, received_ms);
            st.bind(5, ok).bind_blob(6, blob);
          });
        }
        break;
      }
      case v1::Record::kProbeSummary: {
        const v1::ProbeSummary& p = r.probe_summary();
        const std::string blob = serialized(p);
        s = run(kInsertSummary, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind_text(2, p.name()).bind(3, p.window_start_ms());
          st.bind(4, observed).bind(5, received_ms).bind_blob(6, blob);
          st.bind_text(7, batch.agent_id()).bind(8, as_int64(r.record_id()));
        });
        if (s) {
          s = run(kUpsertSummaryLatest, [&](sqlite::Statement& st) {
            st.bind_text(1, school).bind_text(2, p.name()).bind(3, observed).bind(4, received_ms);
            st.bind(5, p.window_start_ms()).bind(6, int64_t{p.failures() == 0 ? 1 : 0});
            st.bind_blob(7, blob);
          });
        }
        break;
      }
      case v1::Record::kDeviceSnapshot: {
        const v1::DeviceSnapshot& d = r.device_snapshot();
        const int64_t first = d.first_seen_ms() > 0 ? d.first_seen_ms() : observed;
        const int64_t last = d.last_seen_ms() > 0 ? d.last_seen_ms() : observed;
        s = run(kUpsertDevice, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind_text(2, d.device_id()).bind(3, first).bind(4, last);
          st.bind(5, observed).bind(6, received_ms).bind(7, int64_t{d.device_class()});
          st.bind_blob(8, serialized(d));
        });
        break;
      }
      case v1::Record::kDeviceChange: {
        const v1::DeviceChange& d = r.device_change();
        s = run(kInsertChange, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind_text(2, d.device_id()).bind(3, observed);
          st.bind(4, received_ms).bind_blob(5, serialized(d));
        });
        if (s && d.kind() == v1::DeviceChange::GONE) {
          s = run(kMarkGone, [&](sqlite::Statement& st) {
            st.bind_text(1, school).bind_text(2, d.device_id()).bind(3, observed);
          });
        }
        break;
      }
      case v1::Record::kOutage: {
        const v1::Outage& o = r.outage();
        s = run(kUpsertOutage, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind_text(2, o.scope()).bind(3, o.start_ms()).bind(4, observed);
          st.bind(5, received_ms).bind_blob(6, serialized(o));
        });
        break;
      }
      case v1::Record::kFinding: {
        const v1::Finding& f = r.finding();
        s = run(kInsertFinding, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind_text(2, f.id()).bind(3, observed).bind(4, received_ms);
          st.bind_blob(5, serialized(f));
        });
        break;
      }
      case v1::Record::kAgentHealth: {
        const std::string blob = serialized(r.agent_health());
        s = run(kInsertHealth, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind_text(2, batch.agent_id()).bind(3, observed);
          st.bind(4, received_ms).bind_blob(5, blob);
        });
        if (s) {
          s = run(kUpdateAgentHealth, [&](sqlite::Statement& st) {
            st.bind_text(1, school).bind_text(2, batch.agent_id()).bind_blob(3, blob);
            st.bind(4, observed).bind(5, received_ms);
          });
        }
        break;
      }
      case v1::Record::kStoreEvent: {
        s = run(kInsertStoreEvent, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind_text(2, batch.agent_id()).bind(3, observed);
          st.bind(4, received_ms).bind_blob(5, serialized(r.store_event()));
        });
        break;
      }
      case v1::Record::kTopology: {
        s = run(kUpsertTopology, [&](sqlite::Statement& st) {
          st.bind_text(1, school).bind(2, observed).bind(3, received_ms);
          st.bind_blob(4, serialized(r.topology()));
        });
        break;
      }
      case v1::Record::BODY_NOT_SET:
        // A record kind added to the contract after this build: accepted (the agent must not
        // quarantine it) and counted, but there is nothing here to store it in.
        break;
    }
    if (!s) {
      return s;
    }
  }
  return ok_status();
}

}  // namespace schoolnet::central
