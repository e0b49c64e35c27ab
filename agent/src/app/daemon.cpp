#include "app/daemon.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <boost/asio.hpp>

#include "app/records.hpp"
#include "app/sd_notify.hpp"
#include "core/log.hpp"
#include "probes/probe.hpp"
#include "probes/resolver.hpp"
#include "probes/summary.hpp"

namespace schoolnet::app {

namespace asio = boost::asio;

class Daemon {
 public:
  explicit Daemon(Agent& agent)
      : a_(agent),
        signals_(io_, SIGINT, SIGTERM),
        window_(agent.config_.probes.summary_window_ms) {}

  int run() {
    env_.clock = &a_.clock_;
    env_.blocking = &blocking_;
    env_.resolvers = probes::system_resolvers();
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (!ec) {
        log::notice("stopping", {{"signal", sig}});
        stop();
      }
    });
    const auto& cfg = a_.config_;
    window_wall_minus_mono_ = a_.clock_.wall_ms() - a_.clock_.mono_ms();
    // Probes with the same interval run as one round: their results arrive within a few
    // seconds of each other and are committed together, instead of one SD-card commit per
    // probe spread over the whole interval.
    std::map<int64_t, size_t> round_of;
    for (size_t i = 0; i < cfg.probes_list.size(); ++i) {
      probe_timers_.push_back(std::make_unique<asio::steady_timer>(io_));
      const int64_t interval = cfg.probes_list[i].interval_ms;
      auto [it, added] = round_of.emplace(interval, rounds_.size());
      if (added) {
        rounds_.push_back(Round{interval, {}, std::make_unique<asio::steady_timer>(io_)});
      }
      rounds_[it->second].probes.push_back(i);
    }
    for (size_t r = 0; r < rounds_.size(); ++r) {
      // The first round starts at a random moment of the first 10 s (or of the interval).
      const int64_t spread = std::min<int64_t>(rounds_[r].interval_ms, 10'000);
      schedule_round(r, a_.random_.below(std::max<int64_t>(spread, 1)));
    }
    every(commit_timer_, cfg.store.commit_interval_ms, [this] { commit(); });
    every(window_timer_, 5'000, [this] {
      note_clock();
      close_windows(false);
    });
    every(health_timer_, cfg.health_interval_ms, [this] { a_.record_health(); });
    // Cheap when nothing is to do (one counter read and a statvfs), and often enough that the
    // bounds hold between checks even when the disk fills fast.
    every(housekeeping_timer_, kHousekeepingMs, [this] { housekeeping(); });
    const int64_t watchdog = sd_watchdog_interval_ms();
    if (watchdog > 0) {
      every(watchdog_timer_, watchdog, [] { sd_notify_message("WATCHDOG=1"); });
    }
    schedule_discovery(0);
    // Let the first probes and the health record commit first, but never wait longer than the
    // configured cadence.
    schedule_upload(std::min<int64_t>(2'000, cfg.central.upload_interval_ms));
    a_.record_health();
    sd_notify_message("READY=1\nSTATUS=watching the school network");
    log::notice("agent running", {{"school", cfg.school_id},
                                  {"agent", cfg.agent_id},
                                  {"probes", cfg.probes_list.size()},
                                  {"central", cfg.central.url}});
    io_.run();
    // An upload still in flight finishes on its worker (bounded by central.timeout) and its
    // outcome is applied, so a clean stop never leaves a batch central may hold unacknowledged.
    blocking_.join();
    if (discovery_thread_.joinable()) {
      discovery_thread_.join();
    }
    io_.restart();
    io_.poll();
    close_windows(true);
    (void)a_.flush();
    log::notice("agent stopped");
    return kExitOk;
  }

 private:
  template <typename F>
  void every(asio::steady_timer& timer, int64_t ms, F f) {
    timer.expires_after(std::chrono::milliseconds(ms));
    timer.async_wait([this, &timer, ms, f](const boost::system::error_code& ec) {
      if (ec || stopping_) {
        return;
      }
      guarded("timer", f);
      every(timer, ms, f);
    });
  }

  // The boundary of every handler: an exception becomes a logged event, never a dead daemon.
  template <typename F>
  void guarded(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      log::error("handler failed", {{"in", what}, {"error", e.what()}});
    }
  }

  static constexpr int64_t kHousekeepingMs = 5'000;

  // The commit timer: records become produced. When the file system is full the commit fails;
  // evicting by priority at once (instead of at the next housekeeping) lets it succeed.
  void commit() {
    auto st = a_.flush();
    if (!st && st.error().code == "store_full") {
      housekeeping();
      (void)a_.flush();
    }
  }

  void stop() {
    stopping_ = true;
    sd_notify_message("STOPPING=1");
    for (auto& t : probe_timers_) {
      t->cancel();
    }
    for (auto& r : rounds_) {
      r.timer->cancel();
    }
    for (asio::steady_timer* t :
         {&commit_timer_, &window_timer_, &health_timer_, &housekeeping_timer_, &upload_timer_,
          &discovery_timer_, &watchdog_timer_}) {
      t->cancel();
    }
    signals_.cancel();
  }

  int64_t jittered(int64_t ms) {
    // +-10 %: probes of many schools never fall into step.
    const int64_t j = ms / 10;
    return ms - j + a_.random_.below(2 * j + 1);
  }

  // One round: its probes start kStaggerMs apart (so a round never opens every connection at
  // once), and the next round follows a jittered interval later.
  static constexpr int64_t kStaggerMs = 100;

  void schedule_round(size_t r, int64_t delay_ms) {
    asio::steady_timer& timer = *rounds_[r].timer;
    timer.expires_after(std::chrono::milliseconds(delay_ms));
    timer.async_wait([this, r](const boost::system::error_code& ec) {
      if (ec || stopping_) {
        return;
      }
      const Round& round = rounds_[r];
      // A round ends before the next begins, however many probes it holds.
      const int64_t stagger = std::min<int64_t>(
          kStaggerMs, round.interval_ms / static_cast<int64_t>(round.probes.size() + 1));
      for (size_t k = 0; k < round.probes.size(); ++k) {
        schedule_probe(round.probes[k], static_cast<int64_t>(k) * stagger);
      }
      schedule_round(r, jittered(round.interval_ms));
    });
  }

  // Runs probe i once, after delay_ms.
  void schedule_probe(size_t i, int64_t delay_ms) {
    auto& timer = *probe_timers_[i];
    timer.expires_after(std::chrono::milliseconds(delay_ms));
    timer.async_wait([this, i](const boost::system::error_code& ec) {
      if (ec || stopping_) {
        return;
      }
      const config::ProbeConfig& p = a_.config_.probes_list[i];
      asio::co_spawn(
          io_,
          [this, &p]() -> asio::awaitable<void> {
            v1::ProbeSample sample = co_await probes::run_probe(p, env_);
            guarded("probe result", [&] {
              note_clock();
              window_.add(sample, a_.clock_.wall_ms(), a_.clock_.mono_ms());
              if (!sample.ok()) {
                log::info("probe failed", {{"name", p.name},
                                           {"error", sample.error_class()},
                                           {"detail", sample.error_detail()}});
              }
              v1::Record r = make_record(a_.clock_);
              *r.mutable_probe_sample() = std::move(sample);
              a_.produce(std::move(r));
            });
          },
          asio::detached);
    });
  }

  // `shift_ms` moves the windows' starts, for windows placed by a wall clock that has since
  // been stepped (see housekeeping).
  void close_windows(bool all, int64_t shift_ms = 0) {
    for (auto& s : window_.close(a_.clock_.wall_ms(), a_.clock_.mono_ms(), all)) {
      s.set_window_start_ms(s.window_start_ms() + shift_ms);
      v1::Record r = make_record(a_.clock_);
      *r.mutable_probe_summary() = std::move(s);
      a_.produce(std::move(r));
    }
  }

  void schedule_discovery(int64_t delay_ms) {
    discovery_timer_.expires_after(std::chrono::milliseconds(delay_ms));
    discovery_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_ || discovering_) {
        return;
      }
      discovering_ = true;
      if (discovery_thread_.joinable()) {
        discovery_thread_.join();
      }
      // A pass blocks on SNMP and mDNS for seconds; it runs on its own thread and hands the
      // observations back to the loop, which alone touches the store.
      discovery_thread_ = std::thread([this] {
        auto pass = std::make_shared<discovery::PassResult>(a_.discover());
        asio::post(io_, [this, pass] {
          discovering_ = false;
          if (stopping_) {
            return;
          }
          const int64_t now = a_.clock_.mono_ms();
          const bool send_all =
              last_full_snapshot_ms_ < 0 || now - last_full_snapshot_ms_ >= 86'400'000;
          guarded("discovery", [&] {
            if (auto st = a_.absorb(*pass, send_all); !st) {
              log::error("could not record the inventory", {{"error", st.error().to_string()}});
            } else if (send_all) {
              last_full_snapshot_ms_ = now;
            }
          });
          schedule_discovery(a_.config_.discovery.interval_ms);
        });
      });
    });
  }

  void schedule_upload(int64_t delay_ms) {
    upload_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(delay_ms, 0)));
    upload_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) {
        return;
      }
      upload();
    });
  }

  // When the wall clock has just synchronised, corrects the times of what was taken before.
  // Runs before every upload (so nothing leaves with a time the agent could have corrected)
  // and at housekeeping; never while an upload is in flight, because the correction may
  // re-seal the batch being sent.
  void clock_check() {
    note_clock();
    a_.check_clock();
  }

  // Summary windows are placed on the wall clock. When it steps (NTP's first sync of a box
  // that booted at 1970, or any later step), the windows opened before close at once, their
  // starts moved by the step, so that no summary is left in a time that no longer exists and
  // no window mixes samples from both sides. Called before every sample enters a window and
  // on the window timer.
  void note_clock() {
    const int64_t wall_minus_mono = a_.clock_.wall_ms() - a_.clock_.mono_ms();
    const int64_t step = wall_minus_mono - window_wall_minus_mono_;
    if (step > kStepMs || step < -kStepMs) {
      log::notice("wall clock stepped; summary windows closed early",
                  {{"step_s", static_cast<double>(step) / 1000.0}});
      close_windows(true, step);
      if (!a_.clock_.synchronised()) {
        // An unsynchronised clock that steps is usually NTP (or fake-hwclock) setting it, with
        // the kernel's "synchronised" flag following a moment later. Uploading in between would
        // send the records of the wrong time before they can be corrected: hold for a while.
        unsynced_step_mono_ms_ = a_.clock_.mono_ms();
      }
    }
    window_wall_minus_mono_ = wall_minus_mono;
  }

  void upload() {
    clock_check();
    if (holding_for_sync()) {
      schedule_upload(kSyncPollMs);
      return;
    }
    commit();
    auto prepared = a_.uploader_->prepare();
    if (!prepared) {
      log::error("store failed while sealing a batch", {{"error", prepared.error().to_string()}});
      schedule_upload(a_.config_.central.upload_interval_ms);
      return;
    }
    if (!prepared->has_value()) {
      schedule_upload(a_.config_.central.upload_interval_ms);
      return;
    }
    auto batch = std::make_shared<uplink::Prepared>(std::move(**prepared));
    uploading_ = true;
    asio::post(blocking_, [this, batch] {
      auto response = std::make_shared<uplink::Response>(a_.transport_->post_batch(batch->body));
      asio::post(io_, [this, batch, response] { uploaded(*batch, *response); });
    });
  }

  void uploaded(const uplink::Prepared& batch, const uplink::Response& response) {
    uploading_ = false;
    auto step = a_.uploader_->complete(batch, response);
    if (!step) {
      log::error("store failed after an upload", {{"error", step.error().to_string()}});
      schedule_upload(a_.config_.central.upload_interval_ms);
      return;
    }
    (void)a_.persist_uplink_state(*a_.uploader_, step->outcome);
    const bool ok = step->outcome == uplink::Outcome::delivered;
    if (ok) {
      if (!last_upload_ok_) {
        log::notice("uploads flowing again", {{"seq", step->seq}});
      }
      log::debug("batch delivered",
                 {{"seq", step->seq}, {"records", step->records}, {"bytes", step->wire_bytes}});
    } else {
      log::warning("upload failed", {{"seq", step->seq},
                                     {"outcome", uplink::outcome_name(step->outcome)},
                                     {"reason", step->reason},
                                     {"retry_in_s", static_cast<double>(step->wait_ms) / 1000.0}});
    }
    last_upload_ok_ = ok;
    if (stopping_) {
      return;
    }
    schedule_upload(step->wait_ms);
  }

  void housekeeping() {
    if (!uploading_) {
      clock_check();
    }
    const auto& s = a_.config_.store;
    auto r = a_.store_->enforce_bounds(s.max_bytes, s.min_free_bytes);
    if (!r) {
      log::error("could not enforce the outbox bounds", {{"error", r.error().to_string()}});
    } else if (r->evicted > 0) {
      log::warning("outbox full: records evicted (counted in status)",
                   {{"evicted", r->evicted}, {"folded", r->folded}});
    }
    // After a backlog drained, give its pages back at once (the file shrinks); otherwise
    // truncate the WAL now and then. Both only when what is pending fits in one batch (the
    // steady state: new records keep coming), so they cost nothing while a backlog is sent.
    auto a = a_.store_->accounting();
    if (a && static_cast<int64_t>(a->pending_bytes) <= a_.config_.central.batch_max_bytes) {
      auto reclaimable = a_.store_->reclaimable_bytes();
      const bool backlog_gone = reclaimable && *reclaimable >= kCompactAfterBytes;
      if (backlog_gone || a_.clock_.mono_ms() - last_compact_ms_ > 600'000) {
        (void)a_.store_->compact(backlog_gone ? 1 : 256);
        last_compact_ms_ = a_.clock_.mono_ms();
      }
    }
  }

  Agent& a_;
  asio::io_context io_;
  asio::thread_pool blocking_{4};
  asio::signal_set signals_;
  probes::ProbeEnv env_;
  probes::SummaryWindow window_;
  struct Round {
    int64_t interval_ms = 0;
    std::vector<size_t> probes;  // indexes into config.probes_list, in config order
    std::unique_ptr<asio::steady_timer> timer;
  };
  std::vector<Round> rounds_;
  std::vector<std::unique_ptr<asio::steady_timer>> probe_timers_;
  asio::steady_timer commit_timer_{io_};
  asio::steady_timer window_timer_{io_};
  asio::steady_timer health_timer_{io_};
  asio::steady_timer housekeeping_timer_{io_};
  asio::steady_timer upload_timer_{io_};
  asio::steady_timer discovery_timer_{io_};
  asio::steady_timer watchdog_timer_{io_};
  std::thread discovery_thread_;
  static constexpr int64_t kCompactAfterBytes = 1 << 20;

  bool stopping_ = false;
  bool discovering_ = false;
  bool uploading_ = false;
  static constexpr int64_t kStepMs = 2'000;  // a jump of the wall clock against the monotonic
  // After a step of an unsynchronised clock, uploads wait this long at most for the sync flag.
  static constexpr int64_t kSyncGraceMs = 30'000;
  static constexpr int64_t kSyncPollMs = 500;
  std::optional<int64_t> unsynced_step_mono_ms_;  // when the unsynchronised clock last stepped

  // True while uploads wait for a clock that has just stepped to say it is synchronised.
  bool holding_for_sync() {
    if (!unsynced_step_mono_ms_) {
      return false;
    }
    const int64_t waited = a_.clock_.mono_ms() - *unsynced_step_mono_ms_;
    if (a_.clock_.synchronised() || waited >= kSyncGraceMs) {
      if (!a_.clock_.synchronised()) {
        log::notice("wall clock still unsynchronised after a step; uploading uncorrected times",
                    {{"waited_s", static_cast<double>(waited) / 1000.0}});
      }
      unsynced_step_mono_ms_.reset();
      return false;
    }
    return true;
  }
  int64_t window_wall_minus_mono_ = 0;  // the wall clock the open windows were placed on
  bool last_upload_ok_ = true;
  int64_t last_full_snapshot_ms_ = -1;
  int64_t last_compact_ms_ = 0;
};

int Agent::run() {
  return run_daemon(*this);
}

int run_daemon(Agent& agent) {
  Daemon d(agent);
  return d.run();
}

}  // namespace schoolnet::app
