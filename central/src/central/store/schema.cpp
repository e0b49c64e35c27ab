#include "central/store/schema.hpp"

#include <iterator>
#include <string>

namespace schoolnet::central::sqlite {

namespace {

// Bodies are serialized protobuf messages of the contract: the contract evolves additively, so
// a blob written today still parses tomorrow and unknown fields from newer agents are kept.
// Columns beside them exist for keys, ordering and retention.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE schools(
  school_id TEXT PRIMARY KEY,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE agents(
  school_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  seq_floor INTEGER NOT NULL DEFAULT 0,
  batches_received INTEGER NOT NULL DEFAULT 0,
  records_received INTEGER NOT NULL DEFAULT 0,
  duplicates_dropped INTEGER NOT NULL DEFAULT 0,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  agent_version TEXT NOT NULL DEFAULT '',
  health BLOB,
  health_observed_ms INTEGER NOT NULL DEFAULT 0,
  health_received_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (school_id, agent_id)
) WITHOUT ROWID;

CREATE TABLE batches(
  school_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  records INTEGER NOT NULL,
  PRIMARY KEY (school_id, agent_id, seq)
) WITHOUT ROWID;
CREATE INDEX batches_by_received ON batches(received_ms);

CREATE TABLE devices(
  school_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  device_class INTEGER NOT NULL,
  snapshot BLOB NOT NULL,
  PRIMARY KEY (school_id, device_id)
) WITHOUT ROWID;
CREATE INDEX devices_by_last_seen ON devices(last_seen_ms);

CREATE TABLE probe_samples(
  id INTEGER PRIMARY KEY,
  school_id TEXT NOT NULL,
  name TEXT NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  sample BLOB NOT NULL
);
CREATE INDEX probe_samples_by_school ON probe_samples(school_id, name, observed_ms);
CREATE INDEX probe_samples_by_observed ON probe_samples(observed_ms);

CREATE TABLE probe_latest(
  school_id TEXT NOT NULL,
  name TEXT NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  sample BLOB NOT NULL,
  PRIMARY KEY (school_id, name)
) WITHOUT ROWID;

CREATE TABLE probe_summaries(
  id INTEGER PRIMARY KEY,
  school_id TEXT NOT NULL,
  name TEXT NOT NULL,
  window_start_ms INTEGER NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  summary BLOB NOT NULL
);
CREATE INDEX probe_summaries_by_school ON probe_summaries(school_id, name, window_start_ms);
CREATE INDEX probe_summaries_by_observed ON probe_summaries(observed_ms);

CREATE TABLE summary_latest(
  school_id TEXT NOT NULL,
  name TEXT NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  summary BLOB NOT NULL,
  PRIMARY KEY (school_id, name)
) WITHOUT ROWID;

CREATE TABLE agent_health(
  id INTEGER PRIMARY KEY,
  school_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  health BLOB NOT NULL
);
CREATE INDEX agent_health_by_agent ON agent_health(school_id, agent_id, observed_ms);
CREATE INDEX agent_health_by_observed ON agent_health(observed_ms);

CREATE TABLE device_changes(
  id INTEGER PRIMARY KEY,
  school_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX device_changes_by_school ON device_changes(school_id, observed_ms);
CREATE INDEX device_changes_by_observed ON device_changes(observed_ms);

CREATE TABLE outages(
  school_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (school_id, scope, start_ms)
) WITHOUT ROWID;
CREATE INDEX outages_by_observed ON outages(observed_ms);

CREATE TABLE findings(
  id INTEGER PRIMARY KEY,
  school_id TEXT NOT NULL,
  finding_id TEXT NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX findings_by_school ON findings(school_id, observed_ms);
CREATE INDEX findings_by_observed ON findings(observed_ms);

CREATE TABLE store_events(
  id INTEGER PRIMARY KEY,
  school_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX store_events_by_school ON store_events(school_id, observed_ms);
CREATE INDEX store_events_by_observed ON store_events(observed_ms);

CREATE TABLE topology(
  school_id TEXT PRIMARY KEY,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  body BLOB NOT NULL
) WITHOUT ROWID;
)sql";

// Version 2: what a delivery audit needs. Each batch keeps the range of record ids it carried
// (the agent numbers records in production order, so ranges that follow each other in seq order
// without overlapping show that nothing arrived twice or out of order), and each probe sample
// keeps its record envelope: which agent, its record id, and whether its time was taken on a
// synchronised clock or corrected afterwards.
constexpr const char* kVersion2 = R"sql(
ALTER TABLE batches ADD COLUMN first_record_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN last_record_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE probe_samples ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE probe_samples ADD COLUMN record_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE probe_samples ADD COLUMN clock_synced INTEGER NOT NULL DEFAULT 1;
ALTER TABLE probe_samples ADD COLUMN time_corrected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE probe_summaries ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE probe_summaries ADD COLUMN record_id INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 3: when the agent last said a device is gone (0 while it is present), so the device
// list can tell what is in the school now from what was.
constexpr const char* kVersion3 = R"sql(
ALTER TABLE devices ADD COLUMN gone_ms INTEGER NOT NULL DEFAULT 0;
)sql";

// migrations[i] takes the database from version i to version i + 1.
constexpr const char* kMigrations[] = {kVersion1, kVersion2, kVersion3};
static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace

Status migrate(Database& db) {
  auto version = db.query_int("PRAGMA user_version");
  if (!version) {
    return version.error();
  }
  if (*version > kSchemaVersion) {
    return make_error("store_version", "the database has schema version " +
                                           std::to_string(*version) + " but this program knows " +
                                           std::to_string(kSchemaVersion) + "; upgrade it");
  }
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    if (auto s = db.exec("BEGIN IMMEDIATE"); !s) {
      return s;
    }
    Status step = db.exec(kMigrations[v]);
    if (step) {
      step = db.exec("PRAGMA user_version = " + std::to_string(v + 1));
    }
    if (!step) {
      (void)db.exec("ROLLBACK");
      return make_error("store_migrate", "migration to schema version " + std::to_string(v + 1) +
                                             " failed: " + step.error().message);
    }
    if (auto s = db.exec("COMMIT"); !s) {
      return s;
    }
  }
  return ok_status();
}

}  // namespace schoolnet::central::sqlite
