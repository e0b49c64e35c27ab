// Store records -> JSON values of the read API. Times appear twice: an RFC 3339 UTC string
// ("observed_at") and its unix-ms twin ("observed_at_ms"); both are null when unknown (0).
#pragma once

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "central/store/store.hpp"

namespace schoolnet::central::api {

// A probe sample is "late" when it reached central more than this after it was observed.
inline constexpr int64_t kLateAfterMs = 5 * 60 * 1000;

std::string_view class_name(v1::DeviceClass c);
std::string_view kind_name(v1::ProbeKind k);
std::string_view change_kind_name(v1::DeviceChange::Kind k);

// Sets key (RFC 3339 string) and key + "_ms" (number); null for both when ms is 0.
void put_time(boost::json::object& o, std::string_view key, int64_t ms);

boost::json::object school_json(const SchoolSummary& s);
boost::json::object device_json(const DeviceRecord& d);
boost::json::object probe_json(const ProbeState& p);
boost::json::object agent_json(const AgentRecord& a);
boost::json::object health_json(const v1::AgentHealth& h);
boost::json::object link_json(const v1::TopologyLink& l);
boost::json::object change_json(const Stamped<v1::DeviceChange>& c);
boost::json::object outage_json(const Stamped<v1::Outage>& o);
boost::json::object finding_json(const Stamped<v1::Finding>& f);
boost::json::object store_event_json(const Stamped<v1::StoreEvent>& e);
boost::json::object sample_json(const SampleRecord& s);
boost::json::object summary_json(const SummaryState& w);
boost::json::object batch_json(const BatchRecord& b);

}  // namespace schoolnet::central::api
