#include "central/auth/credentials.hpp"

#include <stdexcept>

#include <openssl/evp.h>

namespace schoolnet::central {

std::string sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

Credentials::Credentials(const Config& config) {
  for (size_t i = 0; i < config.agents.size(); ++i) {
    const AgentCredentialConfig& a = config.agents[i];
    add_agent(a.token,
              AgentCredential{"agent[" + std::to_string(i) + "]", a.school_id, a.agent_id});
  }
  for (size_t i = 0; i < config.api_tokens.size(); ++i) {
    const ApiCredentialConfig& t = config.api_tokens[i];
    ApiCredential c;
    c.label = "api_token[" + std::to_string(i) + "]";
    c.all_schools = t.all_schools;
    for (const std::string& s : t.schools) {
      if (s != "*") {
        c.schools.insert(s);
      }
    }
    add_api(t.token, std::move(c));
  }
}

void Credentials::add_agent(std::string_view token, AgentCredential credential) {
  agents_[sha256(token)] = std::move(credential);
}

void Credentials::add_api(std::string_view token, ApiCredential credential) {
  api_[sha256(token)] = std::move(credential);
}

const AgentCredential* Credentials::agent(std::string_view token) const {
  if (token.empty()) {
    return nullptr;
  }
  auto it = agents_.find(sha256(token));
  return it == agents_.end() ? nullptr : &it->second;
}

const ApiCredential* Credentials::api(std::string_view token) const {
  if (token.empty()) {
    return nullptr;
  }
  auto it = api_.find(sha256(token));
  return it == api_.end() ? nullptr : &it->second;
}

}  // namespace schoolnet::central
