#include "discovery/snmp_walk.hpp"

#include <map>

#include <gtest/gtest.h>

namespace schoolnet::discovery {
namespace {

// An SNMP agent over a sorted table, with the misbehaviours real devices show.
class FakeAgent final : public SnmpSession {
 public:
  enum class Bulk { works, dropped, too_big_above, empty_above };
  std::map<Oid, VarBind> table;
  Bulk bulk = Bulk::works;
  int bulk_limit = 1000;
  int bulk_calls = 0;
  int next_calls = 0;
  // Misbehaviour on GETNEXT/GETBULK: after `at`, answer `answer` instead of the next row.
  std::optional<Oid> at;
  Oid answer;

  void add(const std::string& oid, int64_t v) {
    VarBind b;
    b.oid = parse_oid(oid);
    b.type = VarType::integer;
    b.integer = v;
    table[b.oid] = b;
  }

  Result<std::vector<VarBind>> get(const std::vector<Oid>&) override {
    return make_error("timeout");
  }

  Result<std::vector<VarBind>> get_next(const std::vector<Oid>& oids) override {
    ++next_calls;
    return std::vector<VarBind>{next_after(oids.at(0))};
  }

  Result<std::vector<VarBind>> get_bulk(const Oid& oid, int max_repetitions) override {
    ++bulk_calls;
    if (bulk == Bulk::dropped) {
      return make_error("timeout", "no answer");
    }
    if (max_repetitions > bulk_limit) {
      if (bulk == Bulk::too_big_above) {
        return make_error("too_big", "tooBig");
      }
      if (bulk == Bulk::empty_above) {
        return std::vector<VarBind>{};
      }
    }
    std::vector<VarBind> out;
    Oid cur = oid;
    for (int i = 0; i < max_repetitions; ++i) {
      VarBind v = next_after(cur);
      out.push_back(v);
      if (v.type == VarType::end_of_mib_view) {
        break;
      }
      cur = v.oid;
    }
    return out;
  }

 private:
  VarBind next_after(const Oid& oid) {
    if (at && oid == *at) {
      VarBind v;
      v.oid = answer;
      v.type = VarType::integer;
      return v;
    }
    auto it = table.upper_bound(oid);
    if (it == table.end()) {
      VarBind v;
      v.oid = oid;
      v.type = VarType::end_of_mib_view;
      return v;
    }
    return it->second;
  }
};

FakeAgent if_table(int rows) {
  FakeAgent a;
  for (int i = 1; i <= rows; ++i) {
    a.add("1.3.6.1.2.1.2.2.1.2." + std::to_string(i), i);
    a.add("1.3.6.1.2.1.2.2.1.3." + std::to_string(i), 6);
  }
  a.add("1.3.6.1.2.1.4.1.0", 1);  // the next subtree
  return a;
}

const Oid kIfTable = parse_oid("1.3.6.1.2.1.2.2");

TEST(SnmpWalk, WalksASubtreeCompletelyWithGetBulk) {
  FakeAgent a = if_table(50);
  WalkTuning t;
  auto r = walk(a, kIfTable, t, {});
  EXPECT_TRUE(r.complete()) << r.stopped;
  EXPECT_EQ(r.rows.size(), 100u);
  EXPECT_EQ(a.next_calls, 0);
  EXPECT_LE(r.requests, 5);
}

TEST(SnmpWalk, FallsBackToGetNextWhenGetBulkIsDroppedAndRemembers) {
  FakeAgent a = if_table(10);
  a.bulk = FakeAgent::Bulk::dropped;
  WalkTuning t;
  auto r = walk(a, kIfTable, t, {});
  EXPECT_TRUE(r.complete()) << r.stopped;
  EXPECT_EQ(r.rows.size(), 20u);
  EXPECT_FALSE(t.bulk);
  const int bulk_calls = a.bulk_calls;
  auto again = walk(a, kIfTable, t, {});
  EXPECT_TRUE(again.complete());
  EXPECT_EQ(a.bulk_calls, bulk_calls);  // the next walk does not try GETBULK again
}

TEST(SnmpWalk, HalvesMaxRepetitionsOnTooBig) {
  FakeAgent a = if_table(40);
  a.bulk = FakeAgent::Bulk::too_big_above;
  a.bulk_limit = 5;
  WalkTuning t;
  auto r = walk(a, kIfTable, t, {});
  EXPECT_TRUE(r.complete()) << r.stopped;
  EXPECT_EQ(r.rows.size(), 80u);
  EXPECT_LE(t.max_repetitions, 5);
  EXPECT_TRUE(t.bulk);
}

TEST(SnmpWalk, TreatsTooBigWithNoVarbindsLikeTooBig) {
  FakeAgent a = if_table(40);
  a.bulk = FakeAgent::Bulk::empty_above;
  a.bulk_limit = 8;
  WalkTuning t;
  auto r = walk(a, kIfTable, t, {});
  EXPECT_TRUE(r.complete()) << r.stopped;
  EXPECT_EQ(r.rows.size(), 80u);
  EXPECT_LE(t.max_repetitions, 8);
}

TEST(SnmpWalk, ARepeatedOidEndsTheWalkWithAPartialResult) {
  FakeAgent a = if_table(10);
  a.at = parse_oid("1.3.6.1.2.1.2.2.1.2.5");
  a.answer = parse_oid("1.3.6.1.2.1.2.2.1.2.5");  // the same OID again: a loop
  WalkTuning t;
  t.bulk = false;
  auto r = walk(a, kIfTable, t, {});
  EXPECT_EQ(r.stopped, "oid_not_increasing");
  EXPECT_EQ(r.rows.size(), 5u);
  EXPECT_NE(r.detail.find("the same OID again"), std::string::npos) << r.detail;
  EXPECT_EQ(r.detail.find("1.3.6.1.2.1.2.2.1.2.5"), std::string::npos)
      << "a row's index (a MAC or an address in FDB and ARP tables) must not be in the text";
}

TEST(SnmpWalk, AStepBackwardsEndsTheWalkWithAPartialResult) {
  FakeAgent a = if_table(10);
  a.at = parse_oid("1.3.6.1.2.1.2.2.1.3.2");
  a.answer = parse_oid("1.3.6.1.2.1.2.2.1.2.1");
  WalkTuning t;
  auto r = walk(a, kIfTable, t, {});
  EXPECT_EQ(r.stopped, "oid_not_increasing");
  EXPECT_GE(r.rows.size(), 12u);
}

TEST(SnmpWalk, StopsAtTheRowBudget) {
  FakeAgent a = if_table(500);
  WalkTuning t;
  WalkBudget b;
  b.max_rows = 100;
  auto r = walk(a, kIfTable, t, b);
  EXPECT_EQ(r.stopped, "row_budget");
  EXPECT_EQ(r.rows.size(), 100u);
}

TEST(SnmpWalk, StopsAtTheTimeBudget) {
  FakeAgent a = if_table(500);
  WalkTuning t;
  t.max_repetitions = 2;
  int64_t fake_ms = 0;
  WalkBudget b;
  b.max_ms = 50;
  auto r = walk(a, kIfTable, t, b, [&] { return fake_ms += 10; });
  EXPECT_EQ(r.stopped, "time_budget");
  EXPECT_LT(r.rows.size(), 1000u);
}

TEST(SnmpWalk, ASilentDeviceEndsInTimeoutWithNothing) {
  FakeAgent a = if_table(5);
  a.bulk = FakeAgent::Bulk::dropped;
  struct Silent final : SnmpSession {
    Result<std::vector<VarBind>> get(const std::vector<Oid>&) override {
      return make_error("timeout");
    }
    Result<std::vector<VarBind>> get_next(const std::vector<Oid>&) override {
      return make_error("timeout");
    }
    Result<std::vector<VarBind>> get_bulk(const Oid&, int) override {
      return make_error("timeout");
    }
  } silent;
  WalkTuning t;
  auto r = walk(silent, kIfTable, t, {});
  EXPECT_EQ(r.stopped, "timeout");
  EXPECT_TRUE(r.rows.empty());
}

TEST(SnmpWalk, AnEmptySubtreeIsCompleteAndEmpty) {
  FakeAgent a = if_table(5);
  WalkTuning t;
  auto r = walk(a, parse_oid("1.3.6.1.2.1.43"), t, {});
  EXPECT_TRUE(r.complete());
  EXPECT_TRUE(r.rows.empty());
}

TEST(Counters, HandleWrapAndRestart) {
  EXPECT_EQ(counter_delta(100, 250, 32, false), 150u);
  EXPECT_EQ(counter_delta(4'294'967'000u, 200, 32, false), 496u);  // wrapped past 2^32
  EXPECT_EQ(counter_delta(5, 3, 64, false), UINT64_MAX - 1);
  EXPECT_FALSE(counter_delta(1000, 10, 32, true).has_value());
}

}  // namespace
}  // namespace schoolnet::discovery
