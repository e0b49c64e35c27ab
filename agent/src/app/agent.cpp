#include "app/agent.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <openssl/rand.h>

#include "app/records.hpp"
#include "core/log.hpp"
#include "core/proc.hpp"
#include "core/text.hpp"
#include "discovery/classify.hpp"
#include "probes/probe.hpp"
#include "probes/resolver.hpp"
#include "probes/summary.hpp"

namespace schoolnet::app {

namespace {

constexpr const char* kPseudonymKey = "pseudonym_key";
constexpr const char* kSnmpCredentials = "snmp_credentials";
constexpr const char* kWalkTuning = "snmp_walk_tuning";
constexpr const char* kTopology = "topology_sent";

// "address=max_repetitions,bulk[,passes_without_bulk]" lines: what each device taught us about
// walking it.
std::map<std::string, discovery::WalkTuning> parse_tuning(const std::string& text) {
  std::map<std::string, discovery::WalkTuning> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    const size_t comma = line.find(',', eq);
    if (eq == std::string::npos || comma == std::string::npos) {
      continue;
    }
    discovery::WalkTuning t;
    t.max_repetitions = std::max(1, std::atoi(line.c_str() + eq + 1));
    t.bulk = line.compare(comma + 1, 1, "1") == 0;
    const size_t third = line.find(',', comma + 1);
    if (third != std::string::npos) {
      t.passes_without_bulk = std::max(0, std::atoi(line.c_str() + third + 1));
    }
    out[line.substr(0, eq)] = t;
  }
  return out;
}

std::string format_tuning(const std::map<std::string, discovery::WalkTuning>& m) {
  std::string out;
  for (const auto& [addr, t] : m) {
    out += addr + "=" + std::to_string(t.max_repetitions) + "," + (t.bulk ? "1" : "0") + "," +
           std::to_string(t.passes_without_bulk) + "\n";
  }
  return out;
}

std::map<std::string, int> parse_credentials(const std::string& text) {
  std::map<std::string, int> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) {
      out[line.substr(0, eq)] = std::atoi(line.c_str() + eq + 1);
    }
  }
  return out;
}

std::string format_credentials(const std::map<std::string, int>& m) {
  std::string out;
  for (const auto& [addr, idx] : m) {
    out += addr + "=" + std::to_string(idx) + "\n";
  }
  return out;
}

}  // namespace

Agent::Agent(config::AgentConfig config, Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

Agent::~Agent() = default;

Result<discovery::Classifier> Agent::load_classifier(const config::AgentConfig& config) {
  if (config.discovery.classify_rules.empty()) {
    return discovery::Classifier::builtin();
  }
  std::ifstream in(config.discovery.classify_rules, std::ios::binary);
  if (!in) {
    return make_error("rules_unreadable",
                      config.discovery.classify_rules + ": cannot open the file");
  }
  std::stringstream text;
  text << in.rdbuf();
  return discovery::Classifier::parse(text.str(), config.discovery.classify_rules);
}

Status Agent::start() {
  started_mono_ms_ = clock_.mono_ms();
  auto rules = load_classifier(config_);
  if (!rules) {
    return rules.error();
  }
  classifier_ = std::move(*rules);
  store::OpenReport report;
  auto s = store::AgentStore::open(config_.store.path, clock_, &report);
  if (!s) {
    return s.error();
  }
  store_.emplace(std::move(*s));
  if (report.reset) {
    v1::Record r = make_record(clock_);
    auto* e = r.mutable_store_event();
    e->set_kind("corrupt_store_quarantined");
    e->set_detail(display_safe(report.reason));
    e->set_moved_to(report.moved_to);
    produce(std::move(r));
  }
  auto key = store_->get_state(kPseudonymKey);
  if (!key) {
    return key.error();
  }
  if (key->has_value() && (*key)->size() == 32) {
    pseudonym_key_ = **key;
  } else {
    pseudonym_key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(pseudonym_key_.data()), 32) != 1) {
      return make_error("random", "cannot generate the pseudonym key");
    }
    if (auto st = store_->put_state(kPseudonymKey, pseudonym_key_); !st) {
      return st;
    }
  }
  auto creds = store_->get_state(kSnmpCredentials);
  if (creds && creds->has_value()) {
    preferred_credential_ = parse_credentials(**creds);
  }
  auto tuning = store_->get_state(kWalkTuning);
  if (tuning && tuning->has_value()) {
    walk_tuning_ = parse_tuning(**tuning);
  }
  uplink::CurlTransportOptions t;
  t.url = config_.central.url;
  t.ca_file = config_.central.ca_file;
  t.token = config_.central.token;
  t.proxy = config_.central.proxy;
  t.timeout_ms = config_.central.timeout_ms;
  t.user_agent = std::string("schoolnet-agent/") + kAgentVersion;
  transport_ = std::make_unique<uplink::CurlTransport>(t);
  uplink::UploaderOptions u;
  u.agent_id = config_.agent_id;
  u.school_id = config_.school_id;
  u.agent_version = kAgentVersion;
  u.limits = {config_.central.batch_max_records, config_.central.batch_max_bytes};
  u.retry_cap_ms = config_.central.retry_cap_ms;
  u.drain_rate_bps = config_.central.drain_rate_bps;
  uploader_ = std::make_unique<uplink::Uploader>(*store_, *transport_, clock_, random_, u);
  // Unsynchronised until shown otherwise: when the clock is already synchronised at start,
  // the first check corrects what an earlier run of this boot stored before the sync.
  clock_was_synced_ = false;
  return {};
}

void Agent::produce(v1::Record record) {
  buffer_.push_back(std::move(record));
  if (static_cast<int64_t>(buffer_.size()) >= config_.store.commit_records) {
    (void)flush();
  }
}

Status Agent::flush() {
  if (buffer_.empty()) {
    return {};
  }
  auto st = store_->append(buffer_);
  if (!st) {
    // Not produced: keep them and try again at the next commit; bounds enforcement may free
    // space in between. Never grow without limit while the store refuses: past the limit the
    // lowest-priority, oldest records go first, and every one is counted.
    log::error("commit failed; records kept in memory",
               {{"error", st.error().to_string()}, {"waiting", buffer_.size()}});
    const auto limit = static_cast<size_t>(config_.store.commit_records) * 10;
    if (buffer_.size() > limit) {
      const size_t dropped = shed(buffer_, limit / 2);
      lost_uncommitted_ += dropped;
      log::error("store refused commits for too long; records dropped from memory",
                 {{"dropped", dropped}, {"dropped_total", lost_uncommitted_}});
    }
    return st;
  }
  buffer_.clear();
  if (lost_uncommitted_ > 0 && store_->count_lost_uncommitted(lost_uncommitted_)) {
    lost_uncommitted_ = 0;
  }
  return {};
}

size_t shed(std::vector<v1::Record>& records, size_t keep) {
  if (records.size() <= keep) {
    return 0;
  }
  size_t excess = records.size() - keep;
  const size_t before = records.size();
  // Lowest priority class first, oldest first within it.
  for (int p = static_cast<int>(store::Priority::raw_sample);
       excess > 0 && p <= static_cast<int>(store::Priority::critical); ++p) {
    std::erase_if(records, [&](const v1::Record& r) {
      if (excess > 0 && static_cast<int>(store::priority_of(r)) == p) {
        --excess;
        return true;
      }
      return false;
    });
  }
  return before - records.size();
}

discovery::PassResult Agent::discover() {
  discovery::PassOptions o;
  o.config = config_.discovery;
  o.preferred_credential = preferred_credential_;
  o.tuning = walk_tuning_;
  for (const auto& root : classifier_.oid_roots()) {
    o.presence_roots.push_back(discovery::parse_oid(root));
  }
  return discovery::run_pass(o);
}

Status Agent::absorb(const discovery::PassResult& pass, bool send_all) {
  discovery::MergeOptions m;
  m.classifier = &classifier_;
  m.oui = &oui_;
  m.pseudonym_key = pseudonym_key_;
  m.now_ms = clock_.wall_ms();
  const auto merged = discovery::merge(pass.observations, m);
  const auto& seen = merged.devices;

  auto stored = store_->devices();
  if (!stored) {
    return stored.error();
  }
  std::vector<discovery::PreviousDevice> previous;
  for (const auto& d : *stored) {
    discovery::PreviousDevice p;
    if (p.snapshot.ParseFromString(d.snapshot)) {
      p.first_seen_ms = d.first_seen_ms;
      p.missed_passes = d.missed_passes;
      previous.push_back(std::move(p));
    }
  }
  auto update = discovery::update_inventory(previous, seen, m.now_ms,
                                            config_.discovery.gone_after_passes, send_all);
  for (const auto& c : update.changes) {
    v1::Record r = make_record(clock_);
    *r.mutable_device_change() = c;
    produce(std::move(r));
  }
  for (const auto& s : update.to_send) {
    v1::Record r = make_record(clock_);
    *r.mutable_device_snapshot() = s;
    produce(std::move(r));
  }
  std::vector<store::StoredDevice> rows;
  for (size_t i = 0; i < update.current.size(); ++i) {
    const auto& s = update.current[i];
    store::StoredDevice d;
    d.device_id = s.device_id();
    s.SerializeToString(&d.snapshot);
    d.first_seen_ms = s.first_seen_ms();
    d.last_seen_ms = s.last_seen_ms();
    d.missed_passes = update.missed[i];
    rows.push_back(std::move(d));
  }
  if (auto st = store_->put_devices(rows, update.removed); !st) {
    return st;
  }
  // Topology: sent when it changed, and with every full resend.
  v1::Topology topology;
  for (const auto& link : merged.links) {
    *topology.add_links() = link;
  }
  std::string topology_bytes;
  topology.SerializeToString(&topology_bytes);
  auto last_topology = store_->get_state(kTopology);
  if (send_all || !last_topology || !last_topology->has_value() ||
      **last_topology != topology_bytes) {
    v1::Record r = make_record(clock_);
    *r.mutable_topology() = std::move(topology);
    produce(std::move(r));
    (void)store_->put_state(kTopology, topology_bytes);
  }
  for (const auto& [addr, idx] : pass.credential_used) {
    preferred_credential_[addr] = idx;
  }
  (void)store_->put_state(kSnmpCredentials, format_credentials(preferred_credential_));
  for (const auto& [addr, t] : pass.tuning) {
    walk_tuning_[addr] = t;
  }
  for (auto& [addr, t] : walk_tuning_) {
    // GETBULK given up after a bad moment (a timeout during a busy spell) would stay given up
    // for good: once in a while it gets another chance.
    if (t.bulk) {
      t.passes_without_bulk = 0;
    } else if (++t.passes_without_bulk >= discovery::WalkTuning::kRetryBulkAfterPasses) {
      t = discovery::WalkTuning{};
      t.max_repetitions = 8;
    }
  }
  (void)store_->put_state(kWalkTuning, format_tuning(walk_tuning_));
  size_t pseudonymous = 0;
  for (const auto& s : seen) {
    pseudonymous += s.pseudonymised();
  }
  last_device_count_ = seen.size();
  log::info("discovery pass done", {{"devices", seen.size()},
                                    {"pseudonymous", pseudonymous},
                                    {"snmp_answered", pass.snmp_answered},
                                    {"snmp_targets", pass.snmp_targets},
                                    {"mdns_hosts", pass.observations.mdns.size()},
                                    {"changes", update.changes.size()},
                                    {"ms", pass.duration_ms},
                                    {"snmp_ms", pass.snmp_ms}});
  for (const auto& p : pass.problems) {
    log::warning("discovery problem", {{"detail", p}});
  }
  return flush();
}

void Agent::record_health() {
  v1::Record r = make_record(clock_);
  auto* h = r.mutable_agent_health();
  h->set_uptime_s(static_cast<uint64_t>((clock_.mono_ms() - started_mono_ms_) / 1000));
  h->set_rss_bytes(current_rss_bytes());
  h->set_clock_synced(clock_.synchronised());
  h->set_version(kAgentVersion);
  if (uploader_) {
    h->set_last_upload_error(uploader_->last_error());
    h->set_last_upload_ok_ms(uploader_->last_ok_ms());
  }
  if (auto a = store_->accounting(); a) {
    // Only committed records: the invariant produced = acked + pending + evicted + quarantined
    // holds for these counters; records still in the commit buffer are not produced yet.
    h->set_pending_records(a->pending_records);
    h->set_pending_bytes(a->pending_bytes);
    h->set_produced(a->produced);
    h->set_acked(a->acked);
    h->set_evicted_total(a->evicted_total);
    for (const auto& [k, v] : a->evicted) {
      (*h->mutable_evicted())[k] = v;
    }
    h->set_quarantined(a->quarantined);
    h->set_store_resets(a->store_resets);
    h->set_lost_uncommitted(a->lost_uncommitted + lost_uncommitted_);
    h->set_oldest_pending_ms(a->oldest_pending_ms);
  }
  produce(std::move(r));
}

void Agent::check_clock() {
  const bool synced = clock_.synchronised();
  if (synced && !clock_was_synced_) {
    (void)flush();
    auto n =
        store_->correct_unsynchronised_times(clock_.wall_ms(), clock_.mono_ms(), clock_.boot_id());
    if (!n) {
      // Tried again at the next check: the records keep their flag until corrected.
      log::error("could not correct earlier timestamps", {{"error", n.error().to_string()}});
      return;
    }
    if (*n > 0) {
      log::notice("wall clock synchronised; earlier timestamps corrected", {{"records", *n}});
    }
  }
  clock_was_synced_ = synced;
}

Status Agent::persist_uplink_state(const uplink::Uploader& u, uplink::Outcome outcome) {
  // The time of the last ack is written by the ack itself; the error and the kind of outcome
  // only when they changed (and once per process, so a stale "credentials" from before a
  // restart never outlives the first answer), so a steady stream of deliveries costs no extra
  // commits.
  if (!persisted_last_outcome_ || *persisted_last_outcome_ != outcome) {
    if (auto st = store_->put_state("uplink_last_outcome", uplink::outcome_name(outcome)); !st) {
      return st;
    }
    persisted_last_outcome_ = outcome;
  }
  if (persisted_last_error_ && *persisted_last_error_ == u.last_error()) {
    return {};
  }
  auto st = store_->put_state("uplink_last_error", u.last_error());
  if (st) {
    persisted_last_error_ = u.last_error();
  }
  return st;
}

int Agent::once(int64_t upload_timeout_ms) {
  auto before = store_->accounting();
  const uint64_t quarantined_before = before ? before->quarantined : 0;
  const auto pass = discover();
  if (auto st = absorb(pass, /*send_all=*/true); !st) {
    log::error("could not record the inventory", {{"error", st.error().to_string()}});
  }

  // One round of every probe, all at once.
  probes::asio::io_context io;
  probes::asio::thread_pool blocking(4);
  probes::ProbeEnv env;
  env.clock = &clock_;
  env.blocking = &blocking;
  env.resolvers = probes::system_resolvers();
  probes::SummaryWindow window(config_.probes.summary_window_ms);
  size_t ok = 0;
  for (const auto& p : config_.probes_list) {
    probes::asio::co_spawn(
        io,
        [&, p]() -> probes::awaitable<void> {
          v1::ProbeSample sample = co_await probes::run_probe(p, env);
          const int64_t now = clock_.wall_ms();
          window.add(sample, now, clock_.mono_ms());
          ok += sample.ok();
          log::info("probe", {{"name", p.name},
                              {"ok", sample.ok()},
                              {"ms", sample.latency_ms()},
                              {"error", sample.error_class()}});
          v1::Record r = make_record(clock_);
          *r.mutable_probe_sample() = std::move(sample);
          produce(std::move(r));
        },
        probes::asio::detached);
  }
  io.run();
  blocking.join();
  for (auto& s : window.close(clock_.wall_ms(), clock_.mono_ms(), /*all=*/true)) {
    v1::Record r = make_record(clock_);
    *r.mutable_probe_summary() = std::move(s);
    produce(std::move(r));
  }
  record_health();
  if (auto st = flush(); !st) {
    return kExitFailed;
  }

  // Upload everything pending, retrying within the time allowed.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(upload_timeout_ms);
  size_t batches = 0;
  for (;;) {
    auto step = uploader_->step();
    if (!step) {
      log::error("store failed during upload", {{"error", step.error().to_string()}});
      return kExitFailed;
    }
    if (!step->sent) {
      break;
    }
    (void)persist_uplink_state(*uploader_, step->outcome);
    if (step->outcome == uplink::Outcome::delivered) {
      ++batches;
      continue;
    }
    log::warning("upload attempt failed", {{"seq", step->seq},
                                           {"outcome", uplink::outcome_name(step->outcome)},
                                           {"reason", step->reason},
                                           {"retry_in_ms", step->wait_ms}});
    if (step->outcome == uplink::Outcome::rejected || step->outcome == uplink::Outcome::split) {
      continue;
    }
    const auto wake = std::chrono::steady_clock::now() + std::chrono::milliseconds(step->wait_ms);
    if (wake > deadline) {
      break;
    }
    std::this_thread::sleep_until(wake);
  }
  auto a = store_->accounting();
  if (!a) {
    return kExitFailed;
  }
  const uint64_t quarantined_now = a->quarantined - quarantined_before;
  const bool all = a->pending_records == 0 && quarantined_now == 0;
  std::printf("devices: %zu (%zu answered SNMP, %zu answered mDNS)\n", last_device_count_,
              pass.snmp_answered, pass.observations.mdns.size());
  std::printf("probes: %zu of %zu ok\n", ok, config_.probes_list.size());
  std::printf("upload: %zu batches acknowledged; %llu records pending, %llu rejected by central\n",
              batches, static_cast<unsigned long long>(a->pending_records),
              static_cast<unsigned long long>(quarantined_now));
  if (!all) {
    std::fprintf(stderr,
                 "schoolnet-agent: central did not acknowledge everything: %llu records still "
                 "pending, %llu rejected (last error: %s). Pending records stay in %s and will "
                 "be sent later.\n",
                 static_cast<unsigned long long>(a->pending_records),
                 static_cast<unsigned long long>(quarantined_now),
                 uploader_->last_error().empty() ? "none" : uploader_->last_error().c_str(),
                 config_.store.path.c_str());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace schoolnet::app
