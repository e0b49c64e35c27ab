#include "central/app/cli.hpp"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "central/app/app.hpp"
#include "central/config/config.hpp"
#include "core/log.hpp"

#ifndef SCHOOLNET_VERSION
#define SCHOOLNET_VERSION "0.0.0"
#endif

namespace schoolnet::central {

namespace {

constexpr const char* kUsage =
    "Usage:\n"
    "  schoolnet-central --config FILE [--log-level LEVEL]   run the central service\n"
    "  schoolnet-central config check FILE                   validate a configuration file\n"
    "  schoolnet-central config reference                    print the settings reference "
    "(Markdown)\n"
    "  schoolnet-central --help | --version\n"
    "\n"
    "LEVEL is one of error, warning, notice, info (default), debug.\n"
    "SIGTERM or SIGINT stops the service cleanly.\n"
    "Exit codes: 0 ok, 1 runtime failure or failed check, 2 usage or configuration error.\n";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "schoolnet-central: %s\n\n%s", what.c_str(), kUsage);
  return 2;
}

int config_command(const std::vector<std::string_view>& args) {
  if (args.size() == 2 && args[1] == "reference") {
    std::fputs(settings::reference_markdown(config_spec()).c_str(), stdout);
    return 0;
  }
  if (args.size() == 3 && args[1] == "check") {
    const std::string path(args[2]);
    const std::string problems = check_config_file(path);
    if (problems.empty()) {
      std::printf("%s: ok\n", path.c_str());
      return 0;
    }
    std::fputs(problems.c_str(), stdout);
    return 1;
  }
  return usage_error("config takes 'check FILE' or 'reference'");
}

int serve(const std::string& path) {
  settings::Problems problems;
  auto config = load_config_file(path, problems);
  if (!config) {
    std::fputs(problems.joined().c_str(), stderr);
    return 2;
  }
  SystemClock clock;
  auto app = App::create(std::move(config.value()), clock);
  if (!app) {
    std::fprintf(stderr, "%s\n", app.error().message.c_str());
    // A TLS file that cannot be used is a configuration error; a store that cannot be opened
    // is a runtime failure.
    return app.error().code.rfind("tls_", 0) == 0 ? 2 : 1;
  }
  if (auto s = (*app)->start(); !s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  (*app)->run(true);
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    return usage_error("nothing to do");
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args[0] == "--version") {
    std::printf("schoolnet-central %s\n", SCHOOLNET_VERSION);
    return 0;
  }
  if (args[0] == "config") {
    return config_command(args);
  }
  std::string config_path;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = std::string(args[++i]);
    } else if (args[i] == "--log-level" && i + 1 < args.size()) {
      log::Level level{};
      if (!log::parse_level(args[++i], level)) {
        return usage_error("unknown log level '" + std::string(args[i]) + "'");
      }
      log::set_level(level);
    } else {
      return usage_error("unexpected argument '" + std::string(args[i]) + "'");
    }
  }
  if (config_path.empty()) {
    return usage_error("--config FILE is required");
  }
  try {
    return serve(config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "schoolnet-central: start-up failed: %s\n", e.what());
    return 1;
  }
}

}  // namespace schoolnet::central
