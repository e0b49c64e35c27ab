#include "app/cli.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "app/agent.hpp"
#include "app/reports.hpp"
#include "config/agent_config.hpp"
#include "core/log.hpp"
#include "core/settings.hpp"
#include "core/text.hpp"
#include "discovery/v3_helper.hpp"

namespace schoolnet::app {

#ifndef SCHOOLNET_VERSION
#define SCHOOLNET_VERSION "0.0.0"
#endif
const char* const kAgentVersion = SCHOOLNET_VERSION;

namespace {

constexpr const char* kDefaultConfig = "/etc/schoolnet/agent.toml";

const char* kUsage = R"(usage: schoolnet-agent COMMAND [options]

Commands:
  run --config FILE              run as a daemon (foreground; systemd runs it this way)
  once --config FILE [--upload-timeout DURATION]
                                 one discovery pass and one round of probes, then upload
                                 everything pending; exit 0 only when central acknowledged all
  inventory --config FILE [--json | --csv] [--device ADDR|MAC|ID]
                                 the devices the agent knows, from its local store
  status --config FILE [--json]  delivery backlog, counters, last upload, clock state
  config check FILE              validate a configuration file (touches no network)
  config reference               the configuration reference, as Markdown
  --version, --help

FILE defaults to /etc/schoolnet/agent.toml. Exit codes: 0 ok, 1 failed, 2 usage or
configuration error, 3 store unusable.
)";

struct Args {
  std::vector<std::string> positional;
  std::string config = kDefaultConfig;
  std::string device;
  std::string upload_timeout = "60s";
  Format format = Format::table;
  bool help = false;
  std::string error;
};

Args parse_args(int argc, char** argv, int first) {
  Args a;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        a.error = arg + " needs a value";
        return;
      }
      out = argv[++i];
    };
    if (arg == "--config" || arg == "-c") {
      value(a.config);
    } else if (arg.rfind("--config=", 0) == 0) {
      a.config = arg.substr(9);
    } else if (arg == "--device") {
      value(a.device);
    } else if (arg == "--upload-timeout") {
      value(a.upload_timeout);
    } else if (arg == "--json") {
      a.format = Format::json;
    } else if (arg == "--csv") {
      a.format = Format::csv;
    } else if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (!arg.empty() && arg[0] == '-') {
      a.error = "unknown option " + arg;
    } else {
      a.positional.push_back(arg);
    }
    if (!a.error.empty()) {
      break;
    }
  }
  return a;
}

Result<config::AgentConfig> load_config(const std::string& path, config::FileChecks files) {
  settings::Problems problems;
  auto c = config::load(path, problems, files);
  if (!c) {
    std::fprintf(stderr, "schoolnet-agent: configuration errors:\n%s", problems.joined().c_str());
    return c.error();
  }
  log::Level level = log::Level::info;
  if (log::parse_level(c->log_level, level)) {
    log::set_level(level);
  }
  return c;
}

int config_check(const std::string& path) {
  settings::Problems problems;
  auto c = config::load(path, problems);
  if (!c) {
    std::fprintf(stderr, "%s", problems.joined().c_str());
    std::fprintf(stderr, "%s: %zu problem%s\n", path.c_str(), problems.items.size(),
                 problems.items.size() == 1 ? "" : "s");
    return kExitFailed;
  }
  if (auto rules = Agent::load_classifier(*c); !rules) {
    std::fprintf(stderr, "%s\n%s: 1 problem\n", rules.error().message.c_str(), path.c_str());
    return kExitFailed;
  }
  size_t addresses = 0;
  for (const auto& t : c->discovery.snmp_targets) {
    addresses += t.last - t.first + 1;
  }
  std::printf("%s: ok\n", path.c_str());
  std::printf("  school %s, agent %s\n", c->school_id.c_str(), c->agent_id.c_str());
  std::printf("  central %s (token %s)\n", c->central.url.c_str(),
              redacted(c->central.token).c_str());
  std::printf("  store %s, cap %lld MiB\n", c->store.path.c_str(),
              static_cast<long long>(c->store.max_bytes >> 20));
  std::printf(
      "  discovery every %llds: %s; SNMP v3 users %zu, v2c communities %zu, v1 "
      "communities %zu\n",
      static_cast<long long>(c->discovery.interval_ms / 1000),
      c->discovery.snmp_targets.empty() ? "the box's own subnets"
                                        : (std::to_string(addresses) + " SNMP addresses").c_str(),
      c->discovery.snmp_v3.size(), c->discovery.snmp_communities.size(),
      c->discovery.snmp_v1_communities.size());
  std::printf("  %zu probes\n", c->probes_list.size());
  for (const auto& p : c->probes_list) {
    std::printf("    %-5s %-40s every %llds  %s\n", config::probe_kind_name(p.kind), p.name.c_str(),
                static_cast<long long>(p.interval_ms / 1000), p.target.c_str());
  }
  return kExitOk;
}

}  // namespace

int main_command(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "snmp-v3-session" && argc == 2) {
    // Internal: one SNMPv3 session for the agent's discovery, on stdin and stdout.
    return discovery::run_v3_helper(STDIN_FILENO, STDOUT_FILENO);
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (cmd == "--version") {
    std::printf("schoolnet-agent %s\n", kAgentVersion);
    return kExitOk;
  }
  Args args = parse_args(argc, argv, 2);
  if (!args.error.empty()) {
    std::fprintf(stderr, "schoolnet-agent: %s\n\n%s", args.error.c_str(), kUsage);
    return kExitUsage;
  }
  if (args.help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (cmd == "config") {
    if (!args.positional.empty() && args.positional[0] == "reference") {
      std::fputs(settings::reference_markdown(config::agent_settings()).c_str(), stdout);
      return kExitOk;
    }
    if (!args.positional.empty() && args.positional[0] == "check" && args.positional.size() <= 2) {
      return config_check(args.positional.size() == 2 ? args.positional[1] : kDefaultConfig);
    }
    std::fprintf(stderr, "schoolnet-agent: use 'config check FILE' or 'config reference'\n");
    return kExitUsage;
  }
  if (cmd != "run" && cmd != "once" && cmd != "inventory" && cmd != "status") {
    std::fprintf(stderr, "schoolnet-agent: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return kExitUsage;
  }
  if (!args.positional.empty()) {
    std::fprintf(stderr, "schoolnet-agent: unexpected argument '%s'\n", args.positional[0].c_str());
    return kExitUsage;
  }
  const bool inspecting = cmd == "inventory" || cmd == "status";  // read the store only
  auto cfg =
      load_config(args.config, inspecting ? config::FileChecks::off : config::FileChecks::on);
  if (!cfg) {
    return kExitUsage;
  }
  SystemClock clock;
  if (cmd == "inventory") {
    return print_inventory(*cfg, args.format, args.device);
  }
  if (cmd == "status") {
    return print_status(*cfg, clock, args.format);
  }
  auto timeout = settings::parse_duration_ms(args.upload_timeout);
  if (!timeout) {
    std::fprintf(stderr, "schoolnet-agent: --upload-timeout: %s\n",
                 timeout.error().message.c_str());
    return kExitUsage;
  }
  // The store holds the pseudonym key and the inventory: whatever it creates (a state
  // directory, the database, its journal) is the agent's alone, however it was started.
  ::umask(0077);
  // SNMPv3 sessions run in helper processes of this same binary (see v3_helper.hpp), so that
  // v3 devices are asked at once like the others.
  {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      discovery::set_v3_helper_path(self.string());
    }
  }
  Agent agent(std::move(*cfg), clock);
  if (auto st = agent.start(); !st) {
    std::fprintf(stderr, "schoolnet-agent: cannot start: %s\n", st.error().to_string().c_str());
    return kExitStore;
  }
  return cmd == "run" ? agent.run() : agent.once(*timeout);
}

}  // namespace schoolnet::app
