// The agent's single SQLite file: the outbox, the device inventory and small agent state
// (next seq, the per-school pseudonym key, last upload outcome). WAL mode with FULL sync, so a
// committed record survives kill -9 and power loss; a corrupt or unreadable file is moved aside
// and a fresh one started, never blocking the agent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "store/outbox.hpp"
#include "store/sqlite.hpp"

namespace schoolnet::store {

struct OpenReport {
  bool reset = false;    // the old file was unusable and moved aside
  std::string moved_to;  // where it went
  std::string reason;    // why it was unusable
};

struct StoredDevice {
  std::string device_id;
  std::string snapshot;  // serialized v1::DeviceSnapshot
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t missed_passes = 0;
};

// What eviction did, for logs and tests.
struct EvictionReport {
  uint64_t evicted = 0;
  uint64_t folded = 0;           // minute summaries folded into hourly ones
  uint64_t summaries_added = 0;  // hourly summaries that replaced them
};

class AgentStore final : public Outbox {
 public:
  // Opens or creates the store. `read_only` opens an existing file for inspection commands
  // (inventory, status) and never moves anything aside.
  static Result<AgentStore> open(const std::string& path, const Clock& clock,
                                 OpenReport* report = nullptr, bool read_only = false);

  AgentStore(AgentStore&&) noexcept = default;
  AgentStore& operator=(AgentStore&&) noexcept = default;

  // Outbox
  Status append(std::vector<v1::Record>& records) override;
  Result<std::optional<SealedBatch>> next_batch(const BatchHeader& header,
                                                const BatchLimits& limits) override;
  Status acknowledge(uint64_t seq) override;
  Status quarantine(uint64_t seq, const std::string& reason) override;
  Status split(uint64_t seq) override;
  Result<Accounting> accounting() override;

  // Agent state: small named values.
  Result<std::optional<std::string>> get_state(const std::string& key);
  Status put_state(const std::string& key, const std::string& value);

  // Inventory.
  Result<std::vector<StoredDevice>> devices();
  Status put_devices(const std::vector<StoredDevice>& devices,
                     const std::vector<std::string>& removed);

  // Keeps the outbox within `max_bytes` of record payload and the file system above
  // `min_free_bytes`: folds raw probe samples into per-minute summaries, then evicts oldest
  // first by priority class. Sealed (in-flight) records are never touched.
  Result<EvictionReport> enforce_bounds(int64_t max_bytes, int64_t min_free_bytes);

  // Rewrites observed_at of records taken before the wall clock synchronised, using the
  // monotonic clock of the same boot: observed = now_wall - (now_mono - mono). Records of
  // other boots cannot be corrected and keep their flag.
  Result<uint64_t> correct_unsynchronised_times(int64_t now_wall_ms, int64_t now_mono_ms,
                                                const std::string& boot_id);

  // Housekeeping after a backlog drained: truncate the WAL and give free pages back.
  Status compact();

  const std::string& path() const { return path_; }
  uint64_t file_bytes() const;

 private:
  AgentStore() = default;
  Status init_schema();
  Status insert_records(std::vector<v1::Record>& records);  // inside a caller's transaction
  Status bump(const std::string& counter, int64_t delta);
  Result<int64_t> counter(const std::string& name);
  Result<EvictionReport> fold_summaries(int64_t target_bytes);

  Database db_;
  std::string path_;
  const Clock* clock_ = nullptr;
};

}  // namespace schoolnet::store
