#include "discovery/snmp_walk.hpp"

#include <algorithm>

namespace schoolnet::discovery {

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

WalkResult walk(SnmpSession& session, const Oid& root, WalkTuning& tuning, const WalkBudget& budget,
                const SteadyNow& now_fn) {
  const SteadyNow now = now_fn ? now_fn : SteadyNow(steady_ms);
  const int64_t start = now();
  WalkResult out;
  Oid last = root;
  for (;;) {
    if (now() - start > budget.max_ms) {
      out.stopped = "time_budget";
      out.detail = "walk of " + format_oid(root) + " took longer than " +
                   std::to_string(budget.max_ms) + " ms";
      return out;
    }
    Result<std::vector<VarBind>> got = make_error("unset");
    ++out.requests;
    if (tuning.bulk) {
      got = session.get_bulk(last, tuning.max_repetitions);
      const bool empty = got && got->empty();
      if (!got && got.error().code == "auth") {
        out.stopped = "auth";
        out.detail = got.error().message;
        return out;
      }
      if (!got || empty) {
        const std::string why = empty ? "empty answer" : got.error().code;
        if (why == "timeout" || why == "too_big" || why == "empty answer" || why == "gen_err") {
          // Ask for less, and in the end not in bulk at all; remember it for this device.
          if (tuning.max_repetitions > 1) {
            tuning.max_repetitions = std::max(1, tuning.max_repetitions / 2);
          } else {
            tuning.bulk = false;
          }
          continue;
        }
        tuning.bulk = false;  // e.g. a v1 agent: GETBULK does not exist there
        continue;
      }
    } else {
      got = session.get_next({last});
      if (!got) {
        if (got.error().code == "no_such_name") {
          return out;  // SNMPv1's end of the MIB view
        }
        out.stopped = got.error().code == "timeout" || got.error().code == "auth" ? got.error().code
                                                                                  : "error";
        out.detail = got.error().to_string();
        return out;
      }
      if (got->empty()) {
        out.stopped = "error";
        out.detail = "GETNEXT answered with no varbinds";
        return out;
      }
    }
    for (const VarBind& v : *got) {
      if (v.type == VarType::end_of_mib_view) {
        return out;
      }
      if (oid_compare(v.oid, last) <= 0) {
        // A repeat or a step backwards, inside the subtree or out of it: a loop, not an end.
        // The detail names the walk and the row, never the OIDs themselves: the index of a
        // forwarding or ARP table is a device's MAC or IP address, and walk errors travel with
        // the (infrastructure) device that reported them.
        out.stopped = "oid_not_increasing";
        out.detail = "under " + format_oid(root) + ", after row " +
                     std::to_string(out.rows.size()) + ", the device answered " +
                     (oid_compare(v.oid, last) == 0 ? "the same OID again" : "an earlier OID");
        return out;
      }
      if (!oid_starts_with(v.oid, root)) {
        return out;  // past the subtree: done
      }
      if (out.rows.size() >= budget.max_rows) {
        out.stopped = "row_budget";
        out.detail =
            "more than " + std::to_string(budget.max_rows) + " rows under " + format_oid(root);
        return out;
      }
      last = v.oid;
      if (v.is_exception()) {
        continue;  // noSuchObject/noSuchInstance in a walk: nothing to keep, keep walking
      }
      out.rows.push_back(v);
    }
  }
}

std::optional<uint64_t> counter_delta(uint64_t previous, uint64_t current, int bits,
                                      bool device_restarted) {
  if (device_restarted) {
    return std::nullopt;
  }
  if (current >= previous) {
    return current - previous;
  }
  if (bits == 32 && previous <= 0xFFFFFFFFull && current <= 0xFFFFFFFFull) {
    return (0x1'0000'0000ull - previous) + current;  // wrapped once
  }
  if (bits == 64) {
    return (~uint64_t{0} - previous) + current + 1;
  }
  return std::nullopt;
}

}  // namespace schoolnet::discovery
