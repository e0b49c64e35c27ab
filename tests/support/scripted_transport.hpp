// A Transport that plays a small central in memory: it decodes each gzip batch, keeps records
// by (seq) exactly once like the real central's dedup, and answers with scripted responses
// (status codes, Retry-After, network errors) before falling back to acks.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>

#include "core/gzip.hpp"
#include "schoolnet/v1/telemetry.pb.h"
#include "uplink/transport.hpp"

namespace schoolnet::testing {

class ScriptedTransport final : public uplink::Transport {
 public:
  // Queues a response for a coming attempt. status 0 = a network error of `error_class`.
  // `store` says whether central stored the batch before answering (a lost ack).
  void script(int status, int64_t retry_after_ms = -1, std::string error_class = "connect",
              bool store = false) {
    script_.push_back({status, retry_after_ms, std::move(error_class), store});
  }

  uplink::Response post_batch(const std::string& gzip_body) override {
    ++attempts_;
    auto raw = gzip_decompress(gzip_body, 64 << 20);
    v1::Batch batch;
    const bool parsed = raw.ok() && batch.ParseFromString(*raw);
    uplink::Response r;
    if (!script_.empty()) {
      const Step s = script_.front();
      script_.pop_front();
      if (s.store && parsed) {
        keep(batch);
      }
      r.status = s.status;
      r.retry_after_ms = s.retry_after_ms;
      if (s.status == 0) {
        r.error_class = s.error_class;
        r.error_detail = "scripted";
      }
      return r;
    }
    if (!parsed) {
      r.status = 400;
      return r;
    }
    const bool duplicate = seqs_.count(batch.seq()) > 0;
    keep(batch);
    v1::UploadAck ack;
    ack.set_acked_seq(batch.seq());
    ack.set_duplicate(duplicate);
    ack.set_last_seq(*seqs_.rbegin());
    r.status = 200;
    ack.SerializeToString(&r.body);
    return r;
  }

  const std::map<uint64_t, std::string>& record_owner() const { return records_; }
  size_t duplicates() const { return duplicate_batches_; }
  size_t attempts() const { return attempts_; }
  std::vector<uint64_t> seqs() const { return {seqs_.begin(), seqs_.end()}; }
  size_t record_count() const { return records_.size(); }
  // Forgets nothing but the agent: as if central had stored batches up to `seq` from an earlier
  // life of this agent, with record ids that are not this store's.
  void pretend_stored_up_to(uint64_t seq) {
    for (uint64_t s = 1; s <= seq; ++s) {
      seqs_.insert(s);
    }
  }

 private:
  struct Step {
    int status;
    int64_t retry_after_ms;
    std::string error_class;
    bool store;
  };
  void keep(const v1::Batch& batch) {
    if (!seqs_.insert(batch.seq()).second) {
      ++duplicate_batches_;
      return;
    }
    for (const auto& rec : batch.records()) {
      const bool fresh = records_.emplace(rec.record_id(), std::to_string(batch.seq())).second;
      if (!fresh) {
        ++duplicate_records_;
      }
    }
  }
  std::deque<Step> script_;
  std::set<uint64_t> seqs_;
  std::map<uint64_t, std::string> records_;  // record id -> seq it arrived in
  size_t duplicate_batches_ = 0;
  size_t duplicate_records_ = 0;
  size_t attempts_ = 0;

 public:
  size_t duplicate_records() const { return duplicate_records_; }
};

}  // namespace schoolnet::testing
