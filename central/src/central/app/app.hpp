// Wires schoolnet-central together, in dependency order: store, credentials, handlers, TLS,
// server; and stops them in reverse. No module reaches another through a global.
#pragma once

#include <memory>
#include <string>

#include "central/config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"

namespace schoolnet::central {

class App {
 public:
  // Builds everything without opening a socket: opens (and migrates) the store, loads TLS.
  // Errors from the configuration name its file, line and key.
  static Result<std::unique_ptr<App>> create(Config config, const Clock& clock);
  ~App();

  // Binds the listening socket.
  Status start();
  uint16_t port() const;

  // Serves on the configured number of threads until stop() or, with handle_signals, SIGTERM or
  // SIGINT. Returns when every thread has finished.
  void run(bool handle_signals);
  // Thread-safe; run() returns soon after.
  void stop();

 private:
  struct Parts;
  explicit App(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Checks a configuration file the way start-up would, without sockets or the store: settings,
// then TLS files. Returns every problem found, one per line; empty when the file is good.
std::string check_config_file(const std::string& path);

// Routes protobuf's own log messages (e.g. why a parse failed) into the structured log.
void install_protobuf_log_handler();

}  // namespace schoolnet::central
