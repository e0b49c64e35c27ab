// SqliteStore: reads, deletion on request, and the retention sweep.
#include <algorithm>
#include <cstdint>
#include <map>

#include "central/store/sqlite_store.hpp"

namespace schoolnet::central {

namespace {

constexpr const char* kSchools =
    "SELECT s.school_id, s.last_seen_ms, "
    "(SELECT count(*) FROM devices d WHERE d.school_id = s.school_id AND d.gone_ms = 0), "
    "(SELECT count(*) FROM agents a WHERE a.school_id = s.school_id), "
    "(SELECT count(*) FROM probe_latest p WHERE p.school_id = s.school_id AND p.ok = 1) + "
    "(SELECT count(*) FROM summary_latest m WHERE m.school_id = s.school_id AND m.ok = 1 AND "
    " NOT EXISTS (SELECT 1 FROM probe_latest p WHERE p.school_id = m.school_id "
    " AND p.name = m.name)), "
    // Failing counts only what arrived in time: a failure that reached central late (a backlog
    // draining after an outage) is history, not a live alarm. 300000 ms is kLateAfterMs.
    "(SELECT count(*) FROM probe_latest p WHERE p.school_id = s.school_id AND p.ok = 0 "
    " AND p.received_ms - p.observed_ms <= 300000) + "
    "(SELECT count(*) FROM summary_latest m WHERE m.school_id = s.school_id AND m.ok = 0 AND "
    " m.received_ms - m.observed_ms <= 300000 AND "
    " NOT EXISTS (SELECT 1 FROM probe_latest p WHERE p.school_id = m.school_id "
    " AND p.name = m.name)) "
    "FROM schools s ORDER BY s.school_id";
constexpr const char* kHasSchool = "SELECT 1 FROM schools WHERE school_id = ?1";
constexpr const char* kDevices =
    "SELECT snapshot, first_seen_ms, last_seen_ms, observed_ms, received_ms, gone_ms FROM devices "
    "WHERE school_id = ?1 ORDER BY device_id";
constexpr const char* kProbeLatest =
    "SELECT name, sample, observed_ms, received_ms FROM probe_latest WHERE school_id = ?1";
constexpr const char* kSummaryLatest =
    "SELECT name, summary, observed_ms, received_ms FROM summary_latest WHERE school_id = ?1";
constexpr const char* kAgents =
    "SELECT agent_id, agent_version, last_seq, records_received, duplicates_dropped, "
    "batches_received, first_seen_ms, last_seen_ms, health, health_observed_ms, "
    "health_received_ms FROM agents WHERE school_id = ?1 ORDER BY agent_id";
constexpr const char* kTopology =
    "SELECT body, observed_ms, received_ms FROM topology WHERE school_id = ?1";
constexpr const char* kChanges =
    "SELECT body, observed_ms, received_ms, '' FROM device_changes WHERE school_id = ?1 "
    "ORDER BY observed_ms DESC, id DESC LIMIT ?2";
constexpr const char* kOutages =
    "SELECT body, observed_ms, received_ms, '' FROM outages WHERE school_id = ?1 "
    "ORDER BY start_ms DESC, observed_ms DESC LIMIT ?2";
constexpr const char* kFindings =
    "SELECT body, observed_ms, received_ms, '' FROM findings WHERE school_id = ?1 "
    "ORDER BY observed_ms DESC, id DESC LIMIT ?2";
constexpr const char* kSamples =
    "SELECT sample, agent_id, record_id, observed_ms, received_ms, clock_synced, time_corrected "
    "FROM probe_samples WHERE school_id = ?1 AND (?2 = '' OR name = ?2) "
    "ORDER BY observed_ms DESC, id DESC LIMIT ?3";
constexpr const char* kSummaries =
    "SELECT summary, observed_ms, received_ms FROM probe_summaries "
    "WHERE school_id = ?1 AND (?2 = '' OR name = ?2) "
    "ORDER BY window_start_ms DESC, id DESC LIMIT ?3";
constexpr const char* kBatches =
    "SELECT seq, received_ms, records, first_record_id, last_record_id FROM batches "
    "WHERE school_id = ?1 AND agent_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";
constexpr const char* kStoreEvents =
    "SELECT body, observed_ms, received_ms, agent_id FROM store_events WHERE school_id = ?1 "
    "ORDER BY observed_ms DESC, id DESC LIMIT ?2";

// Every table holding rows about a school (deletion on request).
constexpr const char* kSchoolTables[] = {
    "schools",      "agents",          "batches",        "devices",      "probe_samples",
    "probe_latest", "probe_summaries", "summary_latest", "agent_health", "device_changes",
    "outages",      "findings",        "store_events",   "topology"};

// Retention: rows whose time column is before the cutoff go, kSweepChunk rows at a time,
// selected by the table's key.
struct SweepTarget {
  const char* table;
  const char* column;
  const char* key;
};
constexpr SweepTarget kSweepTargets[] = {{"probe_samples", "observed_ms", "rowid"},
                                         {"probe_summaries", "observed_ms", "rowid"},
                                         {"agent_health", "observed_ms", "rowid"},
                                         {"device_changes", "observed_ms", "rowid"},
                                         {"findings", "observed_ms", "rowid"},
                                         {"store_events", "observed_ms", "rowid"},
                                         {"probe_latest", "observed_ms", "school_id, name"},
                                         {"summary_latest", "observed_ms", "school_id, name"},
                                         {"outages", "observed_ms", "school_id, scope, start_ms"},
                                         {"topology", "observed_ms", "school_id"},
                                         {"devices", "last_seen_ms", "school_id, device_id"},
                                         {"batches", "received_ms", "school_id, agent_id, seq"}};
constexpr int kSweepChunk = 2000;

// Before dedup entries go, each agent's floor rises to the highest seq pruned: a retry of a
// batch that old is still recognised as a duplicate.
constexpr const char* kRaiseSeqFloor =
    "UPDATE agents SET seq_floor = max(seq_floor, (SELECT max(b.seq) FROM batches b "
    "WHERE b.school_id = agents.school_id AND b.agent_id = agents.agent_id "
    "AND b.received_ms < ?1)) "
    "WHERE EXISTS (SELECT 1 FROM batches b WHERE b.school_id = agents.school_id "
    "AND b.agent_id = agents.agent_id AND b.received_ms < ?1)";

template <typename Message>
bool parse_blob(Message& m, const std::string& blob) {
  return m.ParseFromString(blob);
}

Error corrupt(const char* what) {
  return make_error("store_corrupt", std::string("unreadable ") + what + " row in the database");
}

}  // namespace

Result<std::vector<SchoolSummary>> SqliteStore::schools() {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(kSchools);
  if (!stmt) {
    return stmt.error();
  }
  std::vector<SchoolSummary> out;
  for (;;) {
    auto row = (*stmt)->step();
    if (!row) {
      (*stmt)->reset();
      return row.error();
    }
    if (!*row) {
      break;
    }
    SchoolSummary s;
    s.school_id = (*stmt)->text(0);
    s.last_seen_ms = (*stmt)->int64(1);
    s.device_count = (*stmt)->int64(2);
    s.agent_count = (*stmt)->int64(3);
    s.probes_ok = (*stmt)->int64(4);
    s.probes_failing = (*stmt)->int64(5);
    out.push_back(std::move(s));
  }
  (*stmt)->reset();
  return out;
}

Result<bool> SqliteStore::has_school(const std::string& school_id) {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(kHasSchool);
  if (!stmt) {
    return stmt.error();
  }
  (*stmt)->bind_text(1, school_id);
  auto row = (*stmt)->step();
  (*stmt)->reset();
  if (!row) {
    return row.error();
  }
  return *row;
}

Result<std::vector<DeviceRecord>> SqliteStore::devices(const std::string& school_id) {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(kDevices);
  if (!stmt) {
    return stmt.error();
  }
  sqlite::Statement& st = **stmt;
  st.bind_text(1, school_id);
  std::vector<DeviceRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return row.error();
    }
    if (!*row) {
      break;
    }
    DeviceRecord d;
    if (!parse_blob(d.snapshot, st.blob(0))) {
      st.reset();
      return corrupt("device");
    }
    d.first_seen_ms = st.int64(1);
    d.last_seen_ms = st.int64(2);
    d.observed_ms = st.int64(3);
    d.received_ms = st.int64(4);
    d.gone_ms = st.int64(5);
    out.push_back(std::move(d));
  }
  st.reset();
  return out;
}

Result<std::vector<ProbeState>> SqliteStore::probes(const std::string& school_id) {
  std::lock_guard lock(reader_->mutex);
  std::map<std::string, ProbeState> by_name;
  for (const char* sql : {kProbeLatest, kSummaryLatest}) {
    auto stmt = reader_->statement(sql);
    if (!stmt) {
      return stmt.error();
    }
    sqlite::Statement& st = **stmt;
    st.bind_text(1, school_id);
    for (;;) {
      auto row = st.step();
      if (!row) {
        st.reset();
        return row.error();
      }
      if (!*row) {
        break;
      }
      ProbeState& p = by_name[st.text(0)];
      p.name = st.text(0);
      if (sql == kProbeLatest) {
        v1::ProbeSample sample;
        if (!parse_blob(sample, st.blob(1))) {
          st.reset();
          return corrupt("probe sample");
        }
        p.sample = std::move(sample);
        p.observed_ms = st.int64(2);
        p.received_ms = st.int64(3);
      } else {
        SummaryState w;
        if (!parse_blob(w.summary, st.blob(1))) {
          st.reset();
          return corrupt("probe summary");
        }
        w.observed_ms = st.int64(2);
        w.received_ms = st.int64(3);
        p.window = std::move(w);
      }
    }
    st.reset();
  }
  std::vector<ProbeState> out;
  out.reserve(by_name.size());
  for (auto& [name, state] : by_name) {
    out.push_back(std::move(state));
  }
  return out;
}

Result<std::vector<AgentRecord>> SqliteStore::agents(const std::string& school_id) {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(kAgents);
  if (!stmt) {
    return stmt.error();
  }
  sqlite::Statement& st = **stmt;
  st.bind_text(1, school_id);
  std::vector<AgentRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return row.error();
    }
    if (!*row) {
      break;
    }
    AgentRecord a;
    a.agent_id = st.text(0);
    a.agent_version = st.text(1);
    a.last_seq = static_cast<uint64_t>(st.int64(2));
    a.records_received = static_cast<uint64_t>(st.int64(3));
    a.duplicates_dropped = static_cast<uint64_t>(st.int64(4));
    a.batches_received = static_cast<uint64_t>(st.int64(5));
    a.first_seen_ms = st.int64(6);
    a.last_seen_ms = st.int64(7);
    if (!st.is_null(8)) {
      v1::AgentHealth h;
      if (!parse_blob(h, st.blob(8))) {
        st.reset();
        return corrupt("agent health");
      }
      a.health = std::move(h);
    }
    a.health_observed_ms = st.int64(9);
    a.health_received_ms = st.int64(10);
    out.push_back(std::move(a));
  }
  st.reset();
  return out;
}

Result<std::optional<TopologyRecord>> SqliteStore::topology(const std::string& school_id) {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(kTopology);
  if (!stmt) {
    return stmt.error();
  }
  sqlite::Statement& st = **stmt;
  st.bind_text(1, school_id);
  auto row = st.step();
  if (!row) {
    st.reset();
    return row.error();
  }
  std::optional<TopologyRecord> out;
  if (*row) {
    TopologyRecord t;
    if (!parse_blob(t.topology, st.blob(0))) {
      st.reset();
      return corrupt("topology");
    }
    t.observed_ms = st.int64(1);
    t.received_ms = st.int64(2);
    out = std::move(t);
  }
  st.reset();
  return out;
}

template <typename T>
Result<std::vector<Stamped<T>>> SqliteStore::events(const char* sql, const std::string& school_id,
                                                    size_t limit) {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(sql);
  if (!stmt) {
    return stmt.error();
  }
  sqlite::Statement& st = **stmt;
  st.bind_text(1, school_id).bind(2, static_cast<int64_t>(limit));
  std::vector<Stamped<T>> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return row.error();
    }
    if (!*row) {
      break;
    }
    Stamped<T> e;
    if (!parse_blob(e.body, st.blob(0))) {
      st.reset();
      return corrupt("event");
    }
    e.observed_ms = st.int64(1);
    e.received_ms = st.int64(2);
    e.agent_id = st.text(3);
    out.push_back(std::move(e));
  }
  st.reset();
  return out;
}

Result<std::vector<Stamped<v1::DeviceChange>>> SqliteStore::changes(const std::string& school_id,
                                                                    size_t limit) {
  return events<v1::DeviceChange>(kChanges, school_id, limit);
}

Result<std::vector<Stamped<v1::Outage>>> SqliteStore::outages(const std::string& school_id,
                                                              size_t limit) {
  return events<v1::Outage>(kOutages, school_id, limit);
}

Result<std::vector<Stamped<v1::Finding>>> SqliteStore::findings(const std::string& school_id,
                                                                size_t limit) {
  return events<v1::Finding>(kFindings, school_id, limit);
}

Result<std::vector<Stamped<v1::StoreEvent>>> SqliteStore::store_events(const std::string& school_id,
                                                                       size_t limit) {
  return events<v1::StoreEvent>(kStoreEvents, school_id, limit);
}

Result<std::vector<SampleRecord>> SqliteStore::samples(const std::string& school_id,
                                                       const std::string& probe, size_t limit) {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(kSamples);
  if (!stmt) {
    return stmt.error();
  }
  sqlite::Statement& st = **stmt;
  st.bind_text(1, school_id).bind_text(2, probe).bind(3, static_cast<int64_t>(limit));
  std::vector<SampleRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return row.error();
    }
    if (!*row) {
      break;
    }
    SampleRecord r;
    if (!parse_blob(r.sample, st.blob(0))) {
      st.reset();
      return corrupt("probe sample");
    }
    r.agent_id = st.text(1);
    r.record_id = static_cast<uint64_t>(st.int64(2));
    r.observed_ms = st.int64(3);
    r.received_ms = st.int64(4);
    r.clock_synced = st.int64(5) != 0;
    r.time_corrected = st.int64(6) != 0;
    out.push_back(std::move(r));
  }
  st.reset();
  return out;
}

Result<std::vector<SummaryState>> SqliteStore::summaries(const std::string& school_id,
                                                         const std::string& probe, size_t limit) {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(kSummaries);
  if (!stmt) {
    return stmt.error();
  }
  sqlite::Statement& st = **stmt;
  st.bind_text(1, school_id).bind_text(2, probe).bind(3, static_cast<int64_t>(limit));
  std::vector<SummaryState> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return row.error();
    }
    if (!*row) {
      break;
    }
    SummaryState w;
    if (!parse_blob(w.summary, st.blob(0))) {
      st.reset();
      return corrupt("probe summary");
    }
    w.observed_ms = st.int64(1);
    w.received_ms = st.int64(2);
    out.push_back(std::move(w));
  }
  st.reset();
  return out;
}

Result<std::vector<BatchRecord>> SqliteStore::batches(const std::string& school_id,
                                                      const std::string& agent_id,
                                                      uint64_t after_seq, size_t limit) {
  std::lock_guard lock(reader_->mutex);
  auto stmt = reader_->statement(kBatches);
  if (!stmt) {
    return stmt.error();
  }
  sqlite::Statement& st = **stmt;
  st.bind_text(1, school_id).bind_text(2, agent_id);
  st.bind(3, static_cast<int64_t>(std::min<uint64_t>(after_seq, INT64_MAX)));
  st.bind(4, static_cast<int64_t>(limit));
  std::vector<BatchRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return row.error();
    }
    if (!*row) {
      break;
    }
    BatchRecord b;
    b.seq = static_cast<uint64_t>(st.int64(0));
    b.received_ms = st.int64(1);
    b.records = static_cast<uint64_t>(st.int64(2));
    b.first_record_id = static_cast<uint64_t>(st.int64(3));
    b.last_record_id = static_cast<uint64_t>(st.int64(4));
    out.push_back(b);
  }
  st.reset();
  return out;
}

Result<bool> SqliteStore::delete_school(const std::string& school_id) {
  std::lock_guard lock(writer_.mutex);
  sqlite::Database& db = writer_.db;
  if (auto s = db.exec("BEGIN IMMEDIATE"); !s) {
    return s.error();
  }
  int64_t deleted = 0;
  for (const char* table : kSchoolTables) {
    auto stmt = db.prepare(std::string("DELETE FROM ") + table + " WHERE school_id = ?1");
    if (!stmt) {
      (void)db.exec("ROLLBACK");
      return stmt.error();
    }
    stmt->bind_text(1, school_id);
    if (auto s = stmt->run(); !s) {
      (void)db.exec("ROLLBACK");
      return s.error();
    }
    deleted += db.changes();
  }
  if (auto s = db.exec("COMMIT"); !s) {
    (void)db.exec("ROLLBACK");
    return s.error();
  }
  return deleted > 0;
}

Result<SweepReport> SqliteStore::sweep(int64_t cutoff_ms) {
  SweepReport report;
  {
    std::lock_guard lock(writer_.mutex);
    auto raise = writer_.db.prepare(kRaiseSeqFloor);
    if (!raise) {
      return raise.error();
    }
    raise->bind(1, cutoff_ms);
    if (auto s = raise->run(); !s) {
      return s.error();
    }
  }
  for (const SweepTarget& t : kSweepTargets) {
    const std::string sql = std::string("DELETE FROM ") + t.table + " WHERE (" + t.key +
                            ") IN (SELECT " + t.key + " FROM " + t.table + " WHERE " + t.column +
                            " < ?1 LIMIT " + std::to_string(kSweepChunk) + ")";
    for (;;) {
      // The writer lock is taken per chunk so that ingest interleaves with a long sweep.
      std::lock_guard lock(writer_.mutex);
      auto stmt = writer_.db.prepare(sql);
      if (!stmt) {
        return stmt.error();
      }
      stmt->bind(1, cutoff_ms);
      if (auto s = stmt->run(); !s) {
        return s.error();
      }
      const int64_t n = writer_.db.changes();
      report.rows_deleted += n;
      if (n < kSweepChunk) {
        break;
      }
    }
  }
  return report;
}

}  // namespace schoolnet::central
