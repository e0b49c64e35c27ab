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
  // What could still be read from the old file and carries on in the fresh one (0: nothing).
  uint64_t salvaged_next_seq = 0;
  int64_t salvaged_last_record_id = 0;
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

// Space kept in a file beside the store (PATH.reserve) and given up when the file system is
// full, so the store can still open and evict to make room; made again once there is space.
inline constexpr int64_t kReserveBytes = 512 * 1024;
std::string reserve_path(const std::string& path);
// Removes the reserve; true when there was one.
bool release_reserve(const std::string& path);
// Makes the reserve when it is missing and the file system has room beyond min_free_bytes.
void ensure_reserve(const std::string& path, int64_t min_free_bytes);
// Free bytes for unprivileged use on the file system holding `path` (INT64_MAX if unknown).
int64_t free_disk_bytes(const std::string& path);

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
  Status rebase(uint64_t seq, uint64_t next_seq) override;
  Status mark_maybe_delivered(uint64_t seq) override;
  Result<Accounting> accounting() override;

  // Adds to the lost_uncommitted counter (see Accounting).
  Status count_lost_uncommitted(uint64_t records);

  // The sealed batch waiting for central's ack, if any: (seq, records).
  Result<std::optional<std::pair<uint64_t, uint64_t>>> in_flight();

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
  // other boots cannot be corrected and keep their flag. A sealed batch that holds such records
  // and can never have reached central (mark_maybe_delivered was not called for it) is
  // unsealed first, so its records are corrected too and go under a fresh seq; the caller must
  // not have an attempt at sending it in progress.
  Result<uint64_t> correct_unsynchronised_times(int64_t now_wall_ms, int64_t now_mono_ms,
                                                const std::string& boot_id);

  // Housekeeping after a backlog drained: truncate the WAL and give the file's free pages back
  // to the file system when there are at least `min_free_pages` of them.
  Status compact(int64_t min_free_pages = 256);
  // Bytes of free pages inside the file, which compact() would give back.
  Result<int64_t> reclaimable_bytes();

  const std::string& path() const { return path_; }
  uint64_t file_bytes() const;

 private:
  AgentStore() = default;
  Status init_schema();
  // Inside a caller's transaction. Ids come from the table's sequence, or from `ids` (one per
  // record, ids the same transaction has just freed) to keep a replacement in its place.
  Status insert_records(std::vector<v1::Record>& records, const std::vector<int64_t>& ids = {});
  // Inside a caller's transaction: the batch's records go back to pending, its sealed copy goes.
  Status unseal_batch(int64_t seq);
  Status bump(const std::string& counter, int64_t delta);
  Result<int64_t> counter(const std::string& name);
  Result<EvictionReport> fold_summaries(int64_t target_bytes);
  Result<EvictionReport> enforce_bounds_once(int64_t max_bytes, int64_t min_free_bytes);
  // Gives the file's free pages and the WAL's space back to the file system, in steps small
  // enough to fit in the WAL the file already has (so it works on a full disk too).
  Status give_back_space();

  Database db_;
  std::string path_;
  const Clock* clock_ = nullptr;
};

}  // namespace schoolnet::store
