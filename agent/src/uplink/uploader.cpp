#include "uplink/uploader.hpp"

#include <algorithm>

#include "core/gzip.hpp"
#include "core/log.hpp"

namespace schoolnet::uplink {

Uploader::Uploader(store::Outbox& outbox, Transport& transport, const Clock& clock, Random& random,
                   UploaderOptions options)
    : outbox_(outbox),
      transport_(transport),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      backoff_(options_.retry_base_ms, options_.retry_cap_ms) {}

Result<std::optional<Prepared>> Uploader::prepare() {
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
  if (!next->has_value()) {
    backoff_.reset();
    return std::optional<Prepared>();
  }
  Prepared p;
  p.seq = (*next)->seq;
  p.records = (*next)->records;
  p.body = gzip_compress((*next)->bytes);
  return std::optional<Prepared>(std::move(p));
}

Result<Step> Uploader::step() {
  auto prepared = prepare();
  if (!prepared) {
    return prepared.error();
  }
  if (!prepared->has_value()) {
    return Step{};
  }
  const Response response = transport_.post_batch((*prepared)->body);
  return complete(**prepared, response);
}

Result<Step> Uploader::complete(const Prepared& prepared, const Response& response) {
  Step s;
  s.sent = true;
  s.seq = prepared.seq;
  s.records = prepared.records;
  s.wire_bytes = prepared.body.size();
  Decision d = decide(response, prepared.seq);
  if (response.status == 0 && response.error_class == "tls_not_yet_valid" &&
      !clock_.synchronised()) {
    // Central's certificate is fine; our clock is what is wrong (a box without RTC before NTP).
    d.reason =
        "clock_unsynchronised: central's certificate is not yet valid by this box's "
        "clock, which is not synchronised (" +
        response.error_detail + ")";
  }
  s.outcome = d.outcome;
  s.reason = d.reason;
  const uint64_t seq = prepared.seq;
  Status applied;
  switch (d.outcome) {
    case Outcome::delivered:
      applied = outbox_.acknowledge(seq);
      backoff_.reset();
      last_ok_ms_ = clock_.wall_ms();
      last_error_.clear();
      s.wait_ms = options_.drain_rate_bps > 0
                      ? static_cast<int64_t>(s.wire_bytes) * 8 * 1000 / options_.drain_rate_bps
                      : 0;
      break;
    case Outcome::rejected:
      applied = outbox_.quarantine(seq, d.reason);
      last_error_ = "batch " + std::to_string(seq) + " rejected: " + d.reason;
      log::error("central rejected a batch for good; quarantined",
                 {{"seq", seq}, {"records", prepared.records}, {"reason", d.reason}});
      s.wait_ms = 0;
      break;
    case Outcome::split:
      applied = outbox_.split(seq);
      last_error_ = "batch " + std::to_string(seq) + " too large for central; split";
      s.wait_ms = 0;
      break;
    case Outcome::rebase:
      applied = outbox_.rebase(seq, d.next_seq);
      log::warning("central already had this seq from an earlier store; sending again",
                   {{"seq", seq}, {"next_seq", d.next_seq}, {"records", prepared.records}});
      s.wait_ms = 0;
      break;
    case Outcome::retry:
      last_error_ = d.reason;
      s.wait_ms = backoff_.next_delay_ms(random_, d.server_delay_ms);
      break;
    case Outcome::credentials:
    case Outcome::endpoint:
      last_error_ = d.reason;
      // Slowly, but never slower than the configured cap.
      s.wait_ms = std::max(backoff_.next_delay_ms(random_, d.server_delay_ms),
                           std::min(options_.slow_retry_ms, options_.retry_cap_ms));
      break;
  }
  if (applied.ok() &&
      (d.outcome == Outcome::retry || d.outcome == Outcome::credentials ||
       d.outcome == Outcome::endpoint) &&
      may_have_reached_central(response)) {
    applied = outbox_.mark_maybe_delivered(seq);
  }
  if (!applied) {
    return applied.error();
  }
  return s;
}

}  // namespace schoolnet::uplink
