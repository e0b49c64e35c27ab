// SNMPv3 sessions in helper processes. net-snmp keeps SNMPv3 state (engine boots and time,
// localized users) in process-wide lists that are neither thread-safe nor able to keep two
// devices with one engine ID apart, so in one process v3 devices can only be asked one after
// another. Each v3 session therefore runs in a short-lived helper process (the agent's own
// binary, `schoolnet-agent snmp-v3-session`), which owns one net-snmp session on a clean slate
// and answers the requests the discovery thread sends it over a pair of pipes. Credentials go
// through the pipe, never the command line.
//
// The frames on the pipes are length-prefixed binary records (see v3_helper.cpp); both ends are
// this program, but the parent still reads the child's answers with bounds checks and limits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "discovery/snmp.hpp"

namespace schoolnet::discovery {

// Where the helper binary is; empty (the default) keeps v3 sessions in this process, one at a
// time. The agent sets it to its own executable at start.
void set_v3_helper_path(const std::string& path);
const std::string& v3_helper_path();

// How many v3 helpers run at once at most (each is a process of its own).
inline constexpr int kMaxV3Helpers = 8;

// Opens a v3 session in a helper process.
Result<std::unique_ptr<SnmpSession>> open_v3_in_helper(const SessionOptions& options,
                                                       const Credential& credential);

// The helper's side: reads the session to open from `in`, then serves requests until `in`
// closes. Returns the process exit status.
int run_v3_helper(int in_fd, int out_fd);

// Exposed for tests and the fuzz target: the encoding of a request's answer.
std::string encode_answer(const Result<std::vector<VarBind>>& answer);
Result<std::vector<VarBind>> decode_answer(std::string_view frame);

}  // namespace schoolnet::discovery
