// The outbox: every record the agent produces waits here, durably, until central acknowledges
// it. The interface is the seam through which tests inject store failures.
//
// Accounting contract: a record is *produced* once append() returns ok. From then on it is in
// exactly one of: pending (in the outbox, possibly in the sealed in-flight batch), acked,
// evicted (counted per kind and reason) or quarantined. produced = acked + pending + evicted +
// quarantined holds after every operation, because each operation changes the records and the
// counters in one SQLite transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::store {

// Eviction classes, lowest evicted first.
enum class Priority : int { raw_sample = 0, summary = 1, snapshot = 2, critical = 3 };

Priority priority_of(const v1::Record& r);
// Short name of the record's body ("probe_sample", "device_snapshot", ...).
std::string kind_name(const v1::Record& r);

struct Accounting {
  uint64_t produced = 0;
  uint64_t acked = 0;
  uint64_t quarantined = 0;
  uint64_t evicted_total = 0;
  std::map<std::string, uint64_t> evicted;  // "<kind>/<reason>" -> records
  uint64_t pending_records = 0;
  uint64_t pending_bytes = 0;
  int64_t oldest_pending_ms = 0;  // observed_at of the oldest pending record; 0 when none
  uint64_t store_resets = 0;
  uint64_t batches_acked = 0;
  // Records dropped from memory while the store refused every commit for a long time (a full
  // disk holding only records that may not be evicted): never produced, so outside the
  // invariant, but counted and reported rather than lost in silence.
  uint64_t lost_uncommitted = 0;

  bool balanced() const {
    return produced == acked + pending_records + evicted_total + quarantined;
  }
};

struct BatchHeader {
  std::string agent_id;
  std::string school_id;
  std::string agent_version;
  int64_t created_at_ms = 0;
  bool clock_synced = false;
};

struct BatchLimits {
  int64_t max_records = 1000;
  int64_t max_bytes = 256 * 1024;
};

struct SealedBatch {
  uint64_t seq = 0;
  std::string bytes;  // serialized v1::Batch, identical on every attempt
  uint64_t records = 0;
};

class Outbox {
 public:
  virtual ~Outbox() = default;

  // Commits the records in one transaction, assigning record ids in order. On error nothing
  // was produced.
  virtual Status append(std::vector<v1::Record>& records) = 0;

  // The batch to send next, in seq order: the sealed in-flight batch if there is one, else the
  // oldest pending records sealed under the next seq. nullopt when nothing is pending.
  virtual Result<std::optional<SealedBatch>> next_batch(const BatchHeader& header,
                                                        const BatchLimits& limits) = 0;

  // Central stored the batch: its records become acked.
  virtual Status acknowledge(uint64_t seq) = 0;
  // Central rejected the batch for good (4xx): its records become quarantined.
  virtual Status quarantine(uint64_t seq, const std::string& reason) = 0;
  // Central said the batch is too large (413): unseal it so it is sent again in smaller
  // batches. A batch of one record cannot shrink and is quarantined instead.
  virtual Status split(uint64_t seq) = 0;
  // Central answered "duplicate" for a seq it had from an earlier life of this agent (central's
  // last seq is above it: the store was reset and its seq counter began again). Unseal the batch
  // so its records go again, and make every later seq at least `next_seq`.
  virtual Status rebase(uint64_t seq, uint64_t next_seq) = 0;
  // An attempt at sending batch `seq` failed in a way that may have left it stored at central
  // (a timeout or a broken connection after the request was sent). Such a batch keeps its bytes
  // until it is acknowledged; a batch never marked can be re-sealed (time correction) safely.
  virtual Status mark_maybe_delivered(uint64_t seq) = 0;

  virtual Result<Accounting> accounting() = 0;
};

}  // namespace schoolnet::store
