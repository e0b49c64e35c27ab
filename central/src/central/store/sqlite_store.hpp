// The embedded store: one SQLite file in WAL mode. One writer connection guarded by a mutex
// applies batches, each in one transaction; a second connection serves reads, which WAL lets
// run beside the writer. Every statement is prepared once and reused.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "central/store/sqlite.hpp"
#include "central/store/store.hpp"

namespace schoolnet::central {

struct SqliteStoreOptions {
  std::string path;  // ":memory:" for a private in-memory database (tests, fuzzing)
  int busy_timeout_ms = 5000;
  // Fault injection for tests: called before every write inside apply_batch; returning true
  // makes that write fail as if the database had refused it.
  std::function<bool()> fail_write;
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database and migrates it to the current schema.
  static Result<std::unique_ptr<SqliteStore>> open(SqliteStoreOptions options);

  Result<ApplyOutcome> apply_batch(const v1::Batch& batch, int64_t received_ms) override;
  Result<std::vector<SchoolSummary>> schools() override;
  Result<bool> has_school(const std::string& school_id) override;
  Result<std::vector<DeviceRecord>> devices(const std::string& school_id) override;
  Result<std::vector<ProbeState>> probes(const std::string& school_id) override;
  Result<std::vector<AgentRecord>> agents(const std::string& school_id) override;
  Result<std::optional<TopologyRecord>> topology(const std::string& school_id) override;
  Result<std::vector<Stamped<v1::DeviceChange>>> changes(const std::string& school_id,
                                                         size_t limit) override;
  Result<std::vector<Stamped<v1::Outage>>> outages(const std::string& school_id,
                                                   size_t limit) override;
  Result<std::vector<Stamped<v1::Finding>>> findings(const std::string& school_id,
                                                     size_t limit) override;
  Result<std::vector<Stamped<v1::StoreEvent>>> store_events(const std::string& school_id,
                                                            size_t limit) override;
  Result<std::vector<SampleRecord>> samples(const std::string& school_id, const std::string& probe,
                                            size_t limit) override;
  Result<std::vector<SummaryState>> summaries(const std::string& school_id,
                                              const std::string& probe, size_t limit) override;
  Result<std::vector<BatchRecord>> batches(const std::string& school_id,
                                           const std::string& agent_id, uint64_t after_seq,
                                           size_t limit) override;
  Result<bool> delete_school(const std::string& school_id) override;
  Result<SweepReport> sweep(int64_t cutoff_ms) override;

 private:
  // A connection with its own statement cache, used under its mutex only.
  struct Connection {
    sqlite::Database db;
    std::map<const char*, sqlite::Statement> statements;
    std::mutex mutex;
    // The statement for this SQL text (a string literal: its address is the cache key).
    Result<sqlite::Statement*> statement(const char* sql);
  };

  explicit SqliteStore(SqliteStoreOptions options) : options_(std::move(options)) {}

  Status apply_records(Connection& c, const v1::Batch& batch, int64_t received_ms);
  // Runs a prepared write, giving the fault hook its chance first.
  Status write(sqlite::Statement& stmt);
  template <typename T>
  Result<std::vector<Stamped<T>>> events(const char* sql, const std::string& school_id,
                                         size_t limit);

  SqliteStoreOptions options_;
  Connection writer_;
  // Reads go to a second connection, except for ":memory:" where there is only one database.
  std::unique_ptr<Connection> reader_storage_;
  Connection* reader_ = &writer_;
};

}  // namespace schoolnet::central
