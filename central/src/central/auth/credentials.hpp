// Bearer-token credentials from the configuration. Tokens are kept only as SHA-256 digests and
// looked up by digest, so a lookup's timing says nothing useful about the stored tokens and no
// token is ever held where a log line could reach it. Credentials are named in logs by their
// position in the configuration ("agent[3]"), never by their value.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "central/config/config.hpp"

namespace schoolnet::central {

struct AgentCredential {
  std::string label;      // "agent[3]"
  std::string school_id;  // batches must name this school
  std::string agent_id;   // when not empty, batches must name this agent
};

struct ApiCredential {
  std::string label;  // "api_token[0]"
  bool all_schools = false;
  std::set<std::string> schools;

  bool may_read(std::string_view school_id) const {
    return all_schools || schools.count(std::string(school_id)) != 0;
  }
  // Deleting a school's data is reserved to tokens that see every school.
  bool may_delete() const { return all_schools; }
};

class Credentials {
 public:
  Credentials() = default;
  explicit Credentials(const Config& config);

  void add_agent(std::string_view token, AgentCredential credential);
  void add_api(std::string_view token, ApiCredential credential);

  // nullptr when the token is empty or unknown.
  const AgentCredential* agent(std::string_view token) const;
  const ApiCredential* api(std::string_view token) const;

 private:
  std::unordered_map<std::string, AgentCredential> agents_;
  std::unordered_map<std::string, ApiCredential> api_;
};

// SHA-256 of the bytes, as 32 raw bytes.
std::string sha256(std::string_view bytes);

}  // namespace schoolnet::central
