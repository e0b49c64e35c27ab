// The agent: wires config, clock, store, discovery, probes and uplink together, starts them
// in dependency order and stops them in reverse. `run` is the daemon; `once` does one round of
// everything and exits with whether central acknowledged it all.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/agent_config.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "discovery/classify.hpp"
#include "discovery/oui.hpp"
#include "discovery/pass.hpp"
#include "store/agent_store.hpp"
#include "uplink/curl_transport.hpp"
#include "uplink/uploader.hpp"

namespace schoolnet::app {

extern const char* const kAgentVersion;

// Exit codes shared by the commands.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,  // the job ran but did not succeed (e.g. central did not acknowledge)
  kExitUsage = 2,   // bad command line or configuration
  kExitStore = 3,   // the store could not be opened at all
};

// Drops records until `keep` remain: the lowest priority class first (raw samples), oldest
// first within it. Returns how many went. For a store that refuses commits for too long.
size_t shed(std::vector<v1::Record>& records, size_t keep);

class Agent {
 public:
  Agent(config::AgentConfig config, Clock& clock);
  ~Agent();

  // Opens the store (moving a corrupt one aside and reporting it) and prepares the uplink.
  Status start();

  int run();

  // The classification rules a configuration asks for: its rules file, or the built-in ones.
  static Result<discovery::Classifier> load_classifier(const config::AgentConfig& config);
  int once(int64_t upload_timeout_ms);

 private:
  friend class Daemon;
  void produce(v1::Record record);
  Status flush();
  discovery::PassResult discover();
  Status absorb(const discovery::PassResult& pass, bool send_all);
  void record_health();
  void check_clock();
  Status persist_uplink_state(const uplink::Uploader& u, uplink::Outcome outcome);

  config::AgentConfig config_;
  Clock& clock_;
  SystemRandom random_;
  std::optional<store::AgentStore> store_;
  std::unique_ptr<uplink::CurlTransport> transport_;
  std::unique_ptr<uplink::Uploader> uploader_;
  discovery::OuiRegistry oui_;
  discovery::Classifier classifier_ = discovery::Classifier::builtin();
  std::string pseudonym_key_;
  std::optional<std::string> persisted_last_error_;  // what uplink_last_error holds, once known
  std::optional<uplink::Outcome> persisted_last_outcome_;  // the same for uplink_last_outcome
  std::map<std::string, int> preferred_credential_;
  std::map<std::string, discovery::WalkTuning> walk_tuning_;
  std::vector<v1::Record> buffer_;
  uint64_t lost_uncommitted_ = 0;  // dropped from buffer_ and not yet added to the store's count
  int64_t started_mono_ms_ = 0;
  bool clock_was_synced_ = false;
  size_t last_device_count_ = 0;
};

}  // namespace schoolnet::app
