#include "uplink/uploader.hpp"

#include <algorithm>

#include "core/gzip.hpp"
#include "core/log.hpp"

namespace schoolnet::uplink {

Uploader::Uploader(store::Outbox& outbox, Transport& transport, const Clock& clock,
                   Random& random, UploaderOptions options)
    : outbox_(outbox),
      transport_(transport),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      backoff_(options_.retry_base_ms, options_.retry_cap_ms) {}

Result<Step> Uploader::step() {
  store::BatchHeader header;
  header.agent_id = options_.agent_id;
  header.school_id = options_.school_id;
  header.agent_version = options_.agent_version;
  header.created_at_ms = clock_.wall_ms();
  header.clock_synced = clock_.synchronised();
  auto next = outbox_.next_batch(header, options_.limits);
  if (!next) {
    return next.error();
  }
  Step s;
  if (!next->has_value()) {
    backoff_.reset();
    return s;
  }
  const store::SealedBatch& batch = **next;
  s.sent = true;
  s.seq = batch.seq;
  s.records = batch.records;
  const std::string body = gzip_compress(batch.bytes);
  s.wire_bytes = body.size();

  const Response response = transport_.post_batch(body);
  const Decision d = decide(response, batch.seq);
  s.outcome = d.outcome;
  s.reason = d.reason;

  Status applied;
  switch (d.outcome) {
    case Outcome::delivered:
      applied = outbox_.acknowledge(batch.seq);
      backoff_.reset();
      last_ok_ms_ = clock_.wall_ms();
      last_error_.clear();
      s.wait_ms = options_.drain_rate_bps > 0
                      ? static_cast<int64_t>(body.size()) * 8 * 1000 / options_.drain_rate_bps
                      : 0;
      break;
    case Outcome::rejected:
      applied = outbox_.quarantine(batch.seq, d.reason);
      last_error_ = "batch " + std::to_string(batch.seq) + " rejected: " + d.reason;
      log::error("central rejected a batch for good; quarantined",
                 {{"seq", batch.seq}, {"records", batch.records}, {"reason", d.reason}});
      s.wait_ms = 0;
      break;
    case Outcome::split:
      applied = outbox_.split(batch.seq);
      last_error_ = "batch " + std::to_string(batch.seq) + " too large for central; split";
      s.wait_ms = 0;
      break;
    case Outcome::retry:
      last_error_ = d.reason;
      s.wait_ms = backoff_.next_delay_ms(random_, d.server_delay_ms);
      break;
    case Outcome::credentials:
    case Outcome::endpoint:
      last_error_ = d.reason;
      s.wait_ms = std::max(backoff_.next_delay_ms(random_, d.server_delay_ms),
                           options_.slow_retry_ms);
      break;
  }
  if (!applied) {
    return applied.error();
  }
  return s;
}

}  // namespace schoolnet::uplink
