#include "central/app/app.hpp"

#include <filesystem>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <google/protobuf/stubs/logging.h>

#include "central/api/handler.hpp"
#include "central/app/router.hpp"
#include "central/auth/credentials.hpp"
#include "central/ingest/handler.hpp"
#include "central/server/server.hpp"
#include "central/server/tls.hpp"
#include "central/store/sqlite_store.hpp"
#include "core/log.hpp"

namespace schoolnet::central {

namespace net = boost::asio;

namespace {

constexpr auto kFirstSweepDelay = std::chrono::minutes(1);
constexpr auto kSweepInterval = std::chrono::hours(1);

void protobuf_log(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  (void)file;
  (void)line;
  // Parse failures of untrusted uploads land here: worth a debug line, never an error.
  if (level >= google::protobuf::LOGLEVEL_FATAL) {
    log::error("protobuf", {{"message", message}});
  } else {
    log::debug("protobuf", {{"message", message}});
  }
}

}  // namespace

void install_protobuf_log_handler() {
  google::protobuf::SetLogHandler(&protobuf_log);
}

struct App::Parts {
  Config config;
  const Clock& clock;
  std::unique_ptr<SqliteStore> store;
  Credentials credentials;
  ingest::IngestCounters counters;
  std::unique_ptr<ingest::IngestHandler> ingest;
  std::unique_ptr<api::ApiHandler> api;
  std::unique_ptr<Router> router;
  net::io_context ioc;
  std::unique_ptr<server::Server> server;
  net::steady_timer sweep_timer{ioc};
  net::signal_set signals{ioc};

  Parts(Config c, const Clock& k)
      : config(std::move(c)), clock(k), ioc(std::max(1, config.threads)) {}

  void schedule_sweep(std::chrono::steady_clock::duration delay) {
    sweep_timer.expires_after(delay);
    sweep_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) {
        return;
      }
      try {
        const int64_t cutoff = clock.wall_ms() - config.retention_ms;
        auto report = store->sweep(cutoff);
        if (report) {
          log::info("retention sweep done", {{"rows_deleted", report->rows_deleted}});
        } else {
          log::error("retention sweep failed", {{"error", report.error().to_string()}});
        }
      } catch (const std::exception& e) {
        log::error("retention sweep failed", {{"error", e.what()}});
      }
      schedule_sweep(kSweepInterval);
    });
  }
};

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() {
  if (parts_) {
    parts_->server.reset();
  }
}

Result<std::unique_ptr<App>> App::create(Config config, const Clock& clock) {
  install_protobuf_log_handler();
  auto tls = server::make_tls_context(config);
  if (!tls) {
    return tls.error();
  }
  auto parts = std::make_unique<Parts>(std::move(config), clock);
  Parts& p = *parts;
  auto store = SqliteStore::open(SqliteStoreOptions{p.config.store_path, 5000, {}});
  if (!store) {
    return make_error(
        store.error().code,
        p.config.problem("store.path", "cannot use the store: " + store.error().message));
  }
  p.store = std::move(store.value());
  p.credentials = Credentials(p.config);
  p.ingest = std::make_unique<ingest::IngestHandler>(ingest::IngestOptions::from_config(p.config),
                                                     p.credentials, *p.store, clock, p.counters);
  p.api = std::make_unique<api::ApiHandler>(p.credentials, *p.store, p.counters);
  p.router = std::make_unique<Router>(*p.ingest, *p.api, p.counters);
  server::ServerOptions so;
  so.listen = p.config.listen;
  so.max_body = static_cast<uint64_t>(p.config.max_body);
  p.server = std::make_unique<server::Server>(p.ioc, std::move(tls.value()), so, *p.router);
  return std::unique_ptr<App>(new App(std::move(parts)));
}

Status App::start() {
  Parts& p = *parts_;
  if (auto s = p.server->start(); !s) {
    return make_error(s.error().code, p.config.problem("server.listen", s.error().message));
  }
  log::notice("schoolnet-central listening", {{"address", p.config.listen.host},
                                              {"port", p.server->port()},
                                              {"threads", p.config.threads},
                                              {"agents", p.config.agents.size()},
                                              {"api_tokens", p.config.api_tokens.size()},
                                              {"store", p.config.store_path}});
  return ok_status();
}

uint16_t App::port() const {
  return parts_->server->port();
}

void App::run(bool handle_signals) {
  Parts& p = *parts_;
  if (handle_signals) {
    p.signals.add(SIGTERM);
    p.signals.add(SIGINT);
    p.signals.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (!ec) {
        log::notice("stopping", {{"signal", signal}});
        stop();
      }
    });
  }
  p.schedule_sweep(kFirstSweepDelay);
  std::vector<std::thread> threads;
  for (int i = 1; i < p.config.threads; ++i) {
    threads.emplace_back([&p] { p.ioc.run(); });
  }
  p.ioc.run();
  for (std::thread& t : threads) {
    t.join();
  }
  log::notice("schoolnet-central stopped");
}

void App::stop() {
  Parts& p = *parts_;
  net::post(p.ioc, [&p] {
    p.server->stop();
    p.sweep_timer.cancel();
    boost::system::error_code ec;
    p.signals.cancel(ec);
    p.ioc.stop();
  });
}

std::string check_config_file(const std::string& path) {
  settings::Problems problems;
  auto config = load_config_file(path, problems);
  if (!config) {
    return problems.joined();
  }
  std::string out;
  if (auto tls = server::make_tls_context(*config); !tls) {
    out += tls.error().message + "\n";
  }
  const std::filesystem::path store(config->store_path);
  const std::filesystem::path dir = store.has_parent_path() ? store.parent_path() : ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    out +=
        config->problem("store.path", "the directory '" + dir.string() + "' does not exist") + "\n";
  }
  return out;
}

}  // namespace schoolnet::central
