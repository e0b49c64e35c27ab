// The central store: the seam between request handling and the database. SqliteStore is the
// embedded default; a PostgreSQL implementation for multi-instance deployments implements the
// same interface (every operation is one transaction or one consistent read, and dedup state
// lives in the database, never in process memory).
//
// Every record keeps two times: observed_ms (the agent's observed_at_ms) and received_ms (the
// server's clock when the batch arrived). "Latest" state (probe state, device fields, agent
// health, topology) only moves forward in observed time, so data that arrives late after an
// outage fills in history without overwriting newer live state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "schoolnet/v1/telemetry.pb.h"

namespace schoolnet::central {

namespace v1 = ::schoolnet::v1;

struct ApplyOutcome {
  bool duplicate = false;  // (school, agent, seq) had been applied before; nothing was stored
  uint64_t records = 0;    // records applied (0 for a duplicate)
  uint64_t last_seq = 0;   // the highest seq stored for this agent, after this batch
};

// One stored batch, for the delivery audit: its seq, when it arrived and the range of record
// ids it carried (0 when the agent did not number its records).
struct BatchRecord {
  uint64_t seq = 0;
  int64_t received_ms = 0;
  uint64_t records = 0;
  uint64_t first_record_id = 0;
  uint64_t last_record_id = 0;
};

// One probe sample in the history, with its record envelope.
struct SampleRecord {
  v1::ProbeSample sample;
  std::string agent_id;
  uint64_t record_id = 0;
  int64_t observed_ms = 0;
  int64_t received_ms = 0;
  bool clock_synced = true;
  bool time_corrected = false;
};

struct SchoolSummary {
  std::string school_id;
  int64_t last_seen_ms = 0;  // received time of the latest batch
  int64_t device_count = 0;
  int64_t agent_count = 0;
  int64_t probes_ok = 0;
  int64_t probes_failing = 0;
};

struct DeviceRecord {
  v1::DeviceSnapshot snapshot;  // the newest snapshot by observed time
  int64_t first_seen_ms = 0;    // earliest seen over every snapshot
  int64_t last_seen_ms = 0;     // latest seen over every snapshot
  int64_t observed_ms = 0;      // of the snapshot kept
  int64_t received_ms = 0;
  int64_t gone_ms = 0;  // when the agent reported it gone; 0 while it is present
};

struct SummaryState {
  v1::ProbeSummary summary;
  int64_t observed_ms = 0;
  int64_t received_ms = 0;
};

// The latest state of one probe: its newest sample and its newest window summary. Either may
// be missing (an agent that evicted raw samples during an outage sends only summaries).
struct ProbeState {
  std::string name;
  std::optional<v1::ProbeSample> sample;
  int64_t observed_ms = 0;  // of the sample
  int64_t received_ms = 0;
  std::optional<SummaryState> window;
};

struct AgentRecord {
  std::string agent_id;
  std::string agent_version;
  uint64_t last_seq = 0;
  uint64_t records_received = 0;
  uint64_t duplicates_dropped = 0;
  uint64_t batches_received = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  std::optional<v1::AgentHealth> health;  // newest by observed time
  int64_t health_observed_ms = 0;
  int64_t health_received_ms = 0;
};

// A stored event-like record (device change, outage, finding, store event).
template <typename T>
struct Stamped {
  T body;
  int64_t observed_ms = 0;
  int64_t received_ms = 0;
  std::string agent_id;  // filled for store events
};

struct TopologyRecord {
  v1::Topology topology;
  int64_t observed_ms = 0;
  int64_t received_ms = 0;
};

struct SweepReport {
  int64_t rows_deleted = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies a batch that the caller has already validated (agent_id not empty, seq > 0, school
  // authorised) as one transaction: either every record is stored and (school, agent, seq) is
  // recorded, or nothing changes. A seq already recorded changes nothing but the agent's
  // duplicates_dropped and comes back with duplicate = true.
  virtual Result<ApplyOutcome> apply_batch(const v1::Batch& batch, int64_t received_ms) = 0;

  virtual Result<std::vector<SchoolSummary>> schools() = 0;
  // A school exists once any batch for it has been stored (and until it is deleted).
  virtual Result<bool> has_school(const std::string& school_id) = 0;
  virtual Result<std::vector<DeviceRecord>> devices(const std::string& school_id) = 0;
  virtual Result<std::vector<ProbeState>> probes(const std::string& school_id) = 0;
  virtual Result<std::vector<AgentRecord>> agents(const std::string& school_id) = 0;
  virtual Result<std::optional<TopologyRecord>> topology(const std::string& school_id) = 0;
  // Event lists, newest first, at most `limit` entries.
  virtual Result<std::vector<Stamped<v1::DeviceChange>>> changes(const std::string& school_id,
                                                                 size_t limit) = 0;
  virtual Result<std::vector<Stamped<v1::Outage>>> outages(const std::string& school_id,
                                                           size_t limit) = 0;
  virtual Result<std::vector<Stamped<v1::Finding>>> findings(const std::string& school_id,
                                                             size_t limit) = 0;
  virtual Result<std::vector<Stamped<v1::StoreEvent>>> store_events(const std::string& school_id,
                                                                    size_t limit) = 0;
  // History, newest first by observed time, at most `limit` entries; `probe` empty = every
  // probe of the school.
  virtual Result<std::vector<SampleRecord>> samples(const std::string& school_id,
                                                    const std::string& probe, size_t limit) = 0;
  virtual Result<std::vector<SummaryState>> summaries(const std::string& school_id,
                                                      const std::string& probe, size_t limit) = 0;
  // An agent's stored batches in seq order, from the first seq above `after_seq`, at most
  // `limit`. Batches pruned by retention are gone from this list.
  virtual Result<std::vector<BatchRecord>> batches(const std::string& school_id,
                                                   const std::string& agent_id, uint64_t after_seq,
                                                   size_t limit) = 0;

  // Deletes every row about the school, dedup state included. False when there was none.
  virtual Result<bool> delete_school(const std::string& school_id) = 0;

  // Deletes records observed (and dedup entries received) before cutoff_ms. Works in small
  // chunks so that ingest is never blocked for long.
  virtual Result<SweepReport> sweep(int64_t cutoff_ms) = 0;
};

}  // namespace schoolnet::central
