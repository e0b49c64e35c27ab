#include "discovery/v3_helper.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <optional>
#include <poll.h>
#include <semaphore>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace schoolnet::discovery {

namespace {

// Limits on what a frame may hold; anything beyond is a broken helper, not a device.
constexpr uint32_t kMaxFrame = 16u << 20;
constexpr uint32_t kMaxString = 1u << 20;
constexpr uint32_t kMaxArcs = 128;
constexpr uint32_t kMaxVarBinds = 100'000;

std::mutex& path_mutex() {
  static std::mutex m;
  return m;
}

std::string& path_storage() {
  static std::string p;
  return p;
}

std::counting_semaphore<kMaxV3Helpers>& helpers() {
  static std::counting_semaphore<kMaxV3Helpers> s(kMaxV3Helpers);
  return s;
}

// --- encoding -----------------------------------------------------------------------------

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
  }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void oid(const Oid& o) {
    u32(static_cast<uint32_t>(o.size()));
    for (uint32_t arc : o) {
      u32(arc);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Bounds-checked reading: every getter fails once anything was short or out of limits.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }

  uint8_t u8() {
    if (!need(1)) {
      return 0;
    }
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint32_t u32() {
    if (!need(4)) {
      return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[pos_++])) << (8 * i);
    }
    return v;
  }
  uint64_t u64() {
    if (!need(8)) {
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_++])) << (8 * i);
    }
    return v;
  }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  std::string str() {
    const uint32_t n = u32();
    if (n > kMaxString || !need(n)) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  Oid oid() {
    const uint32_t n = u32();
    if (n > kMaxArcs) {
      ok_ = false;
      return {};
    }
    Oid o;
    o.reserve(n);
    for (uint32_t i = 0; i < n && ok_; ++i) {
      o.push_back(u32());
    }
    return o;
  }

 private:
  bool need(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
    }
    return ok_;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// --- pipes --------------------------------------------------------------------------------

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool write_frame(int fd, const std::string& payload) {
  Writer w;
  w.u32(static_cast<uint32_t>(payload.size()));
  return write_all(fd, w.take()) && write_all(fd, payload);
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Reads exactly n bytes before the deadline (a negative deadline waits for ever).
bool read_exact(int fd, char* out, size_t n, int64_t deadline_ms) {
  while (n > 0) {
    if (deadline_ms >= 0) {
      const int64_t left = deadline_ms - steady_ms();
      if (left <= 0) {
        return false;
      }
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r <= 0) {
        continue;  // timed out this round: the loop checks the deadline
      }
    }
    const ssize_t got = ::read(fd, out, n);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      return false;
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

std::optional<std::string> read_frame(int fd, int64_t deadline_ms) {
  char head[4];
  if (!read_exact(fd, head, sizeof head, deadline_ms)) {
    return std::nullopt;
  }
  Reader r(std::string_view(head, sizeof head));
  const uint32_t n = r.u32();
  if (n > kMaxFrame) {
    return std::nullopt;
  }
  std::string payload(n, '\0');
  if (n > 0 && !read_exact(fd, payload.data(), n, deadline_ms)) {
    return std::nullopt;
  }
  return payload;
}

std::string encode_open(const SessionOptions& o, const Credential& c) {
  Writer w;
  w.str(o.address);
  w.u32(o.port);
  w.i64(o.timeout_ms);
  w.i64(o.retries);
  w.u8(static_cast<uint8_t>(c.version));
  w.str(c.community);
  w.str(c.user);
  w.str(c.auth_protocol);
  w.str(c.auth_key);
  w.str(c.priv_protocol);
  w.str(c.priv_key);
  return w.take();
}

bool decode_open(std::string_view frame, SessionOptions& o, Credential& c) {
  Reader r(frame);
  o.address = r.str();
  o.port = static_cast<uint16_t>(r.u32());
  o.timeout_ms = r.i64();
  o.retries = static_cast<int>(r.i64());
  const uint8_t v = r.u8();
  c.version = v == 0 ? SnmpVersion::v1 : v == 1 ? SnmpVersion::v2c : SnmpVersion::v3;
  c.community = r.str();
  c.user = r.str();
  c.auth_protocol = r.str();
  c.auth_key = r.str();
  c.priv_protocol = r.str();
  c.priv_key = r.str();
  return r.ok() && r.at_end();
}

enum class Kind : uint8_t { get = 'g', next = 'n', bulk = 'b' };

// --- the parent's side --------------------------------------------------------------------

class HelperSession final : public SnmpSession {
 public:
  HelperSession(pid_t pid, int to, int from, int64_t answer_ms)
      : pid_(pid), to_(to), from_(from), answer_ms_(answer_ms) {}
  ~HelperSession() override {
    ::close(to_);  // end of input: the helper closes its session and exits
    ::close(from_);
    int status = 0;
    const int64_t until = steady_ms() + 2'000;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (steady_ms() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      ::usleep(5'000);
    }
    helpers().release();
  }

  Result<std::vector<VarBind>> get(const std::vector<Oid>& oids) override {
    return ask(Kind::get, oids, 0);
  }
  Result<std::vector<VarBind>> get_next(const std::vector<Oid>& oids) override {
    return ask(Kind::next, oids, 0);
  }
  Result<std::vector<VarBind>> get_bulk(const Oid& oid, int max_repetitions) override {
    return ask(Kind::bulk, {oid}, max_repetitions);
  }

 private:
  Result<std::vector<VarBind>> ask(Kind kind, const std::vector<Oid>& oids, int max_reps) {
    if (broken_) {
      return make_error("internal", "the SNMPv3 helper stopped answering");
    }
    Writer w;
    w.u8(static_cast<uint8_t>(kind));
    w.u32(static_cast<uint32_t>(std::max(0, max_reps)));
    w.u32(static_cast<uint32_t>(oids.size()));
    for (const Oid& o : oids) {
      w.oid(o);
    }
    if (!write_frame(to_, w.take())) {
      broken_ = true;
      return make_error("internal", "cannot reach the SNMPv3 helper");
    }
    auto frame = read_frame(from_, steady_ms() + answer_ms_);
    if (!frame) {
      broken_ = true;
      return make_error("internal", "the SNMPv3 helper did not answer");
    }
    return decode_answer(*frame);
  }

  pid_t pid_;
  int to_;
  int from_;
  int64_t answer_ms_;
  bool broken_ = false;
};

}  // namespace

void set_v3_helper_path(const std::string& path) {
  std::lock_guard lock(path_mutex());
  path_storage() = path;
}

const std::string& v3_helper_path() {
  std::lock_guard lock(path_mutex());
  return path_storage();
}

std::string encode_answer(const Result<std::vector<VarBind>>& answer) {
  Writer w;
  w.u8(answer.ok() ? 1 : 0);
  if (!answer.ok()) {
    w.str(answer.error().code);
    w.str(answer.error().message);
    return w.take();
  }
  w.u32(static_cast<uint32_t>(answer->size()));
  for (const VarBind& v : *answer) {
    w.oid(v.oid);
    w.u8(static_cast<uint8_t>(v.type));
    w.i64(v.integer);
    w.u64(v.unsigned_value);
    w.str(v.bytes);
    w.oid(v.oid_value);
  }
  return w.take();
}

Result<std::vector<VarBind>> decode_answer(std::string_view frame) {
  Reader r(frame);
  const uint8_t ok = r.u8();
  if (r.ok() && ok == 0) {
    std::string code = r.str();
    std::string message = r.str();
    if (r.ok() && r.at_end() && !code.empty()) {
      return make_error(std::move(code), std::move(message));
    }
    return make_error("internal", "the SNMPv3 helper sent a broken error");
  }
  const uint32_t n = r.u32();
  if (ok != 1 || n > kMaxVarBinds) {
    return make_error("internal", "the SNMPv3 helper sent a broken answer");
  }
  std::vector<VarBind> out;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    VarBind v;
    v.oid = r.oid();
    const uint8_t type = r.u8();
    v.type =
        type <= static_cast<uint8_t>(VarType::other) ? static_cast<VarType>(type) : VarType::other;
    v.integer = r.i64();
    v.unsigned_value = r.u64();
    v.bytes = r.str();
    v.oid_value = r.oid();
    out.push_back(std::move(v));
  }
  if (!r.ok() || !r.at_end()) {
    return make_error("internal", "the SNMPv3 helper sent a broken answer");
  }
  return out;
}

Result<std::unique_ptr<SnmpSession>> open_v3_in_helper(const SessionOptions& options,
                                                       const Credential& credential) {
  const std::string path = v3_helper_path();
  int to[2] = {-1, -1};
  int from[2] = {-1, -1};
  if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    for (int fd : {to[0], to[1], from[0], from[1]}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
    return make_error("internal", "pipe: " + why);
  }
  helpers().acquire();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to[0], 0);
  posix_spawn_file_actions_adddup2(&actions, from[1], 1);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::string arg0 = path;
  std::string arg1 = "snmp-v3-session";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(to[0]);
  ::close(from[1]);
  if (rc != 0) {
    ::close(to[1]);
    ::close(from[0]);
    helpers().release();
    return make_error("internal",
                      "cannot start the SNMPv3 helper " + path + ": " + std::strerror(rc));
  }
  // Engine discovery and each request may take every retry; then some slack for the process.
  const int64_t answer_ms = options.timeout_ms * (options.retries + 1) * 2 + 5'000;
  auto session = std::make_unique<HelperSession>(pid, to[1], from[0], answer_ms);
  if (!write_frame(to[1], encode_open(options, credential))) {
    return make_error("internal", "cannot reach the SNMPv3 helper");
  }
  auto frame = read_frame(from[0], steady_ms() + answer_ms);
  if (!frame) {
    return make_error("internal", "the SNMPv3 helper did not answer");
  }
  auto opened = decode_answer(*frame);
  if (!opened) {
    return opened.error();
  }
  return std::unique_ptr<SnmpSession>(std::move(session));
}

int run_v3_helper(int in_fd, int out_fd) {
  // Never outlive the agent that started it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto open = read_frame(in_fd, -1);
  SessionOptions options;
  Credential credential;
  if (!open || !decode_open(*open, options, credential)) {
    return 2;
  }
  auto session = open_netsnmp_in_process(options, credential);
  const std::vector<VarBind> none;
  if (!write_frame(out_fd,
                   encode_answer(session ? Result<std::vector<VarBind>>(none)
                                         : Result<std::vector<VarBind>>(session.error())))) {
    return 1;
  }
  if (!session) {
    return 0;
  }
  for (;;) {
    auto frame = read_frame(in_fd, -1);
    if (!frame) {
      return 0;  // the agent closed the pipe: done
    }
    Reader r(*frame);
    const auto kind = static_cast<Kind>(r.u8());
    const auto max_reps = static_cast<int>(std::min<uint32_t>(r.u32(), 10'000));
    const uint32_t n = r.u32();
    std::vector<Oid> oids;
    for (uint32_t i = 0; i < n && i < 1'000 && r.ok(); ++i) {
      oids.push_back(r.oid());
    }
    Result<std::vector<VarBind>> answer = make_error("internal", "bad request to the helper");
    if (r.ok() && r.at_end() && !oids.empty()) {
      switch (kind) {
        case Kind::get:
          answer = (*session)->get(oids);
          break;
        case Kind::next:
          answer = (*session)->get_next(oids);
          break;
        case Kind::bulk:
          answer = (*session)->get_bulk(oids[0], max_reps);
          break;
      }
    }
    if (!write_frame(out_fd, encode_answer(answer))) {
      return 1;
    }
  }
}

}  // namespace schoolnet::discovery
