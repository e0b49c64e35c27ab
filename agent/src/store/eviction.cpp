// Outbox bounds: "degrade resolution, not coverage". At the size cap or the free-disk floor the
// outbox first drops raw probe samples (per-minute summaries already cover them), then folds
// per-minute summaries into hourly ones, then evicts whole classes oldest first: summaries,
// then snapshots, and (at the cap only) outages, device changes, findings and health last.
// Every record that leaves this way is counted under evicted/<kind>/<reason> in the same
// transaction.
#include <algorithm>
#include <filesystem>
#include <map>
#include <sys/statvfs.h>
#include <tuple>

#include "store/agent_store.hpp"

namespace schoolnet::store {

namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int kFoldChunk = 2000;       // summaries folded per transaction
constexpr int64_t kEvictChunk = 2000;  // records evicted per transaction
constexpr int kVacuumPages = 32;       // pages given back to the file system per step

int64_t free_bytes_at(const std::string& path) {
  return free_disk_bytes(path);
}

// Merges minute summaries of one probe and hour into one hourly summary. Percentiles cannot be
// merged exactly: p50 becomes the count-weighted mean of the p50s and p95 the largest p95, which
// never understates how slow the hour was.
struct HourFold {
  v1::Record first;      // envelope of the earliest summary in the hour
  int64_t first_id = 0;  // its record id, which the hourly summary takes over
  v1::ProbeSummary sum;
  double p50_weighted = 0;
  uint32_t ok_count = 0;
};

}  // namespace

Status AgentStore::give_back_space() {
  // RESTART: the WAL starts again from its beginning, so each step below reuses the space the
  // WAL file already has instead of growing it. That is what lets this work on a full disk.
  if (auto s = db_.exec("PRAGMA wal_checkpoint(RESTART)"); !s) {
    return s;
  }
  for (;;) {
    auto freelist = db_.pragma_int("freelist_count");
    if (!freelist) {
      return freelist.error();
    }
    if (*freelist == 0) {
      break;
    }
    // A few pages at a time: the moved pages go through the WAL before the file shrinks.
    if (auto s = db_.exec("PRAGMA incremental_vacuum(" + std::to_string(kVacuumPages) + ")"); !s) {
      return s;
    }
    if (auto s = db_.exec("PRAGMA wal_checkpoint(RESTART)"); !s) {
      return s;
    }
  }
  return db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

Result<EvictionReport> AgentStore::enforce_bounds(int64_t max_bytes, int64_t min_free_bytes) {
  auto r = enforce_bounds_once(max_bytes, min_free_bytes);
  if (!r && r.error().code == "store_full" && release_reserve(path_)) {
    // Even deleting needs room in the WAL; the reserve gives it.
    r = enforce_bounds_once(max_bytes, min_free_bytes);
  }
  if (r) {
    ensure_reserve(path_, min_free_bytes);
  }
  return r;
}

Result<EvictionReport> AgentStore::enforce_bounds_once(int64_t max_bytes, int64_t min_free_bytes) {
  EvictionReport report;
  auto pending = counter("pending_bytes");
  if (!pending) {
    return pending.error();
  }
  int64_t target = max_bytes;
  std::string reason = "cap";
  int64_t free_now = free_bytes_at(path_);
  if (free_now < min_free_bytes) {
    // Pages freed inside the file and the WAL's space are of no use to the rest of the system:
    // give them back before deciding that records must go. A failure here (the disk is so full
    // that even this cannot write) is not the end: eviction below frees pages in small steps.
    (void)give_back_space();
    free_now = free_bytes_at(path_);
  }
  const bool disk = free_now < min_free_bytes;
  if (disk) {
    // Evicting n bytes of records frees about n bytes of pages, which give_back_space() below
    // returns to the file system.
    target = std::min(target, *pending - (min_free_bytes - free_now));
    reason = "disk";
  }
  target = std::max<int64_t>(0, target);
  if (*pending <= target) {
    return report;
  }

  // Evicts the oldest records of one priority class until the pending bytes reach the target,
  // kEvictChunk records per transaction (small WAL footprint: on a full disk the WAL is
  // restarted between chunks); returns the bytes still above the target.
  auto evict_class = [&](Priority p) -> Result<int64_t> {
    for (;;) {
      auto cur = counter("pending_bytes");
      if (!cur) {
        return cur.error();
      }
      const int64_t excess = *cur - target;
      if (excess <= 0) {
        return int64_t{0};
      }
      const std::string where = "batch_seq IS NULL AND priority = ?1";
      auto sel =
          db_.prepare("SELECT id, size FROM records WHERE " + where + " ORDER BY id LIMIT ?2");
      if (!sel) {
        return sel.error();
      }
      sel->bind(1, static_cast<int64_t>(p)).bind(2, kEvictChunk);
      int64_t last_id = -1;
      int64_t freed = 0;
      int64_t rows = 0;
      for (;;) {
        auto row = sel->step();
        if (!row) {
          return row.error();
        }
        if (!*row || freed >= excess) {
          break;
        }
        last_id = sel->column_int(0);
        freed += sel->column_int(1);
        ++rows;
      }
      sel = Statement();
      if (last_id < 0) {
        return excess;  // nothing of this class left
      }
      Transaction tx(db_);
      if (auto s = tx.begin(); !s) {
        return s.error();
      }
      auto by_kind = db_.prepare("SELECT kind, COUNT(*), SUM(size) FROM records WHERE " + where +
                                 " AND id <= ?2 GROUP BY kind");
      auto del = db_.prepare("DELETE FROM records WHERE " + where + " AND id <= ?2");
      if (!by_kind || !del) {
        return make_error("store_prepare", "eviction statements");
      }
      for (Statement* st : {&*by_kind, &*del}) {
        st->bind(1, static_cast<int64_t>(p)).bind(2, last_id);
      }
      std::vector<std::tuple<std::string, int64_t, int64_t>> kinds;
      for (;;) {
        auto row = by_kind->step();
        if (!row) {
          return row.error();
        }
        if (!*row) {
          break;
        }
        kinds.emplace_back(by_kind->column_text(0), by_kind->column_int(1), by_kind->column_int(2));
      }
      if (auto s = del->run(); !s) {
        return s.error();
      }
      for (const auto& [kind, n, bytes] : kinds) {
        for (auto [name, delta] :
             {std::pair<std::string, int64_t>{"evicted/" + kind + "/" + reason, n},
              {"pending_records", -n},
              {"pending_bytes", -bytes}}) {
          if (auto s = bump(name, delta); !s) {
            return s.error();
          }
        }
        report.evicted += static_cast<uint64_t>(n);
      }
      if (auto s = tx.commit(); !s) {
        return s.error();
      }
      if (disk) {
        (void)db_.exec("PRAGMA wal_checkpoint(RESTART)");
      }
      if (rows < kEvictChunk && freed < excess) {
        return excess - freed;  // the class ran out
      }
    }
  };

  auto left = evict_class(Priority::raw_sample);
  if (!left) {
    return left.error();
  }
  if (*left > 0) {
    auto folded = fold_summaries(target);
    if (!folded) {
      return folded.error();
    }
    report.folded += folded->folded;
    report.summaries_added += folded->summaries_added;
    report.evicted += folded->evicted;
  }
  for (Priority p : {Priority::summary, Priority::snapshot, Priority::critical}) {
    if (p == Priority::critical && disk) {
      // Outages, device changes, findings, health and store events are the evidence of what
      // happened and take little room. When something else fills the disk they stay: dropping
      // them would lose the outage itself and free next to nothing. Only the cap, which bounds
      // the outbox itself, ever evicts them.
      break;
    }
    auto more = evict_class(p);
    if (!more) {
      return more.error();
    }
    if (*more == 0) {
      break;
    }
  }
  if (disk && report.evicted > 0) {
    // Without this the file keeps the freed pages, the free space never comes back, and the
    // next check would evict again for the same shortfall.
    if (auto s = give_back_space(); !s) {
      return s.error();
    }
  }
  return report;
}

// Folds the oldest per-minute summaries into hourly ones, chunk by chunk, until the pending
// bytes reach `target_bytes` or nothing is left to fold. Each hourly summary takes the record id
// of the first minute summary it replaces, so the backlog still drains in the order things
// were observed; the walk moves on past hourly summaries instead of stopping at them.
Result<EvictionReport> AgentStore::fold_summaries(int64_t target_bytes) {
  EvictionReport report;
  int64_t after_id = 0;
  for (;;) {
    auto cur = counter("pending_bytes");
    if (!cur) {
      return cur.error();
    }
    if (*cur <= target_bytes) {
      return report;
    }
    Transaction tx(db_);
    if (auto s = tx.begin(); !s) {
      return s.error();
    }
    auto sel = db_.prepare(
        "SELECT id, size, body FROM records WHERE batch_seq IS NULL AND kind = 'probe_summary' "
        "AND id > ?2 ORDER BY id LIMIT ?1");
    if (!sel) {
      return sel.error();
    }
    sel->bind(1, static_cast<int64_t>(kFoldChunk)).bind(2, after_id);
    std::map<std::tuple<std::string, int64_t>, HourFold> hours;
    std::vector<int64_t> ids;
    int64_t removed_bytes = 0;
    bool any = false;
    for (;;) {
      auto row = sel->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        break;
      }
      any = true;
      after_id = sel->column_int(0);
      v1::Record r;
      if (!r.ParseFromString(sel->column_blob(2)) || !r.has_probe_summary()) {
        continue;
      }
      const v1::ProbeSummary& s = r.probe_summary();
      if (s.window_ms() >= kHourMs) {
        continue;  // already hourly
      }
      ids.push_back(sel->column_int(0));
      removed_bytes += sel->column_int(1);
      const int64_t hour = s.window_start_ms() - (s.window_start_ms() % kHourMs);
      HourFold& f = hours[{s.name(), hour}];
      if (f.sum.count() == 0 && f.sum.name().empty()) {
        f.first = r;
        f.first_id = sel->column_int(0);
        f.sum.set_name(s.name());
        f.sum.set_kind(s.kind());
        f.sum.set_target(s.target());
        f.sum.set_window_start_ms(hour);
        f.sum.set_window_ms(static_cast<uint32_t>(kHourMs));
        f.sum.set_folded(true);
      }
      f.sum.set_count(f.sum.count() + s.count());
      f.sum.set_failures(f.sum.failures() + s.failures());
      const uint32_t ok = s.count() - std::min(s.count(), s.failures());
      f.ok_count += ok;
      f.p50_weighted += s.latency_p50_ms() * ok;
      f.sum.set_latency_p95_ms(std::max(f.sum.latency_p95_ms(), s.latency_p95_ms()));
      f.sum.set_latency_max_ms(std::max(f.sum.latency_max_ms(), s.latency_max_ms()));
      for (const auto& [cls, n] : s.error_classes()) {
        (*f.sum.mutable_error_classes())[cls] += n;
      }
      if (!s.last_error().empty()) {
        f.sum.set_last_error(s.last_error());
      }
    }
    sel = Statement();
    if (!any) {
      return report;  // the end of the outbox: nothing more to fold
    }
    if (ids.empty()) {
      continue;  // a chunk of hourly summaries only
    }
    auto del = db_.prepare("DELETE FROM records WHERE id = ?1");
    if (!del) {
      return del.error();
    }
    for (int64_t id : ids) {
      if (auto s = del->bind(1, id).run(); !s) {
        return s.error();
      }
    }
    const auto n = static_cast<int64_t>(ids.size());
    for (auto [name, delta] : {std::pair<const char*, int64_t>{"evicted/probe_summary/folded", n},
                               {"pending_records", -n},
                               {"pending_bytes", -removed_bytes}}) {
      if (auto s = bump(name, delta); !s) {
        return s.error();
      }
    }
    std::vector<v1::Record> folded;
    std::vector<int64_t> folded_ids;
    for (auto& [key, f] : hours) {
      folded_ids.push_back(f.first_id);
      if (f.ok_count > 0) {
        f.sum.set_latency_p50_ms(f.p50_weighted / f.ok_count);
      }
      v1::Record r = f.first;
      *r.mutable_probe_summary() = f.sum;
      folded.push_back(std::move(r));
    }
    // The hourly summaries replace the minute ones in the same transaction: a crash leaves
    // either the old resolution or the new one, never neither.
    if (auto s = insert_records(folded, folded_ids); !s) {
      return s.error();
    }
    if (auto s = tx.commit(); !s) {
      return s.error();
    }
    report.folded += static_cast<uint64_t>(n);
    report.evicted += static_cast<uint64_t>(n);
    report.summaries_added += folded.size();
  }
}

}  // namespace schoolnet::store
