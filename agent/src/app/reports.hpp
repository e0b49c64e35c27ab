// Read-only views of the agent's store for people: `inventory` and `status`.
#pragma once

#include <string>

#include "config/agent_config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/agent_store.hpp"

namespace schoolnet::app {

enum class Format { table, json, csv };

// Opens the agent's store read-only, with an error message a technician can act on.
Result<store::AgentStore> open_for_reading(const config::AgentConfig& config, const Clock& clock);

int print_inventory(const config::AgentConfig& config, Format format, const std::string& device);
int print_status(const config::AgentConfig& config, const Clock& clock, Format format);

}  // namespace schoolnet::app
