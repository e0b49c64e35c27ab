#include "discovery/snmp_device.hpp"

#include <map>

#include <gtest/gtest.h>

namespace schoolnet::discovery {
namespace {

// A session that answers GETs from a table, for one community; others time out.
class TableSession final : public SnmpSession {
 public:
  TableSession(std::map<Oid, VarBind> table, bool v1_style)
      : table_(std::move(table)), v1_(v1_style) {}
  Result<std::vector<VarBind>> get(const std::vector<Oid>& oids) override {
    std::vector<VarBind> out;
    for (const Oid& o : oids) {
      auto it = table_.find(o);
      if (it == table_.end()) {
        if (v1_) {
          return make_error("no_such_name", "noSuchName");
        }
        VarBind v;
        v.oid = o;
        v.type = VarType::no_such_object;
        out.push_back(v);
      } else {
        out.push_back(it->second);
      }
    }
    return out;
  }
  Result<std::vector<VarBind>> get_next(const std::vector<Oid>&) override {
    return make_error("timeout");
  }
  Result<std::vector<VarBind>> get_bulk(const Oid&, int) override { return make_error("timeout"); }

 private:
  std::map<Oid, VarBind> table_;
  bool v1_;
};

class Silent final : public SnmpSession {
 public:
  Result<std::vector<VarBind>> get(const std::vector<Oid>&) override {
    return make_error("timeout");
  }
  Result<std::vector<VarBind>> get_next(const std::vector<Oid>&) override {
    return make_error("timeout");
  }
  Result<std::vector<VarBind>> get_bulk(const Oid&, int) override { return make_error("timeout"); }
};

VarBind octets(const std::string& oid, const std::string& v) {
  VarBind b;
  b.oid = parse_oid(oid);
  b.type = VarType::octets;
  b.bytes = v;
  return b;
}

std::map<Oid, VarBind> system_table() {
  std::map<Oid, VarBind> t;
  for (auto v :
       {octets("1.3.6.1.2.1.1.1.0", "Brother NC-6800h"), octets("1.3.6.1.2.1.1.5.0", "printer")}) {
    t[v.oid] = v;
  }
  VarBind oid;
  oid.oid = parse_oid("1.3.6.1.2.1.1.2.0");
  oid.type = VarType::oid;
  oid.oid_value = parse_oid("1.3.6.1.4.1.2435.2.3.9.1");
  t[oid.oid] = oid;
  VarBind up;
  up.oid = parse_oid("1.3.6.1.2.1.1.3.0");
  up.type = VarType::timeticks;
  up.unsigned_value = 12345;
  t[up.oid] = up;
  return t;
}

SessionOpener opener_for(const std::string& good_community, std::map<Oid, VarBind> table,
                         bool v1 = false, int* opened = nullptr) {
  return [=](const SessionOptions&, const Credential& c) -> Result<std::unique_ptr<SnmpSession>> {
    if (opened) {
      ++*opened;
    }
    if (c.community == good_community) {
      return std::unique_ptr<SnmpSession>(std::make_unique<TableSession>(table, v1));
    }
    return std::unique_ptr<SnmpSession>(std::make_unique<Silent>());
  };
}

DeviceQueryOptions query(std::vector<std::string> communities, int preferred = -1) {
  DeviceQueryOptions q;
  q.session.address = "10.0.0.20";
  for (auto& c : communities) {
    Credential cred;
    cred.community = c;
    q.credentials.push_back(cred);
  }
  q.preferred_credential = preferred;
  return q;
}

TEST(SnmpDevice, TriesEachCommunityAndRemembersTheOneThatWorked) {
  auto sys = query_system(query({"public", "school-ro"}), opener_for("school-ro", system_table()));
  ASSERT_TRUE(sys.responded);
  EXPECT_EQ(sys.credential_index, 1);
  EXPECT_EQ(sys.sys_descr, "Brother NC-6800h");
  EXPECT_EQ(format_oid(sys.sys_object_id), "1.3.6.1.4.1.2435.2.3.9.1");
  EXPECT_EQ(sys.sys_uptime_ticks, 12345u);
  EXPECT_EQ(sys.if_number, -1);  // noSuchObject: simply absent
}

TEST(SnmpDevice, AsksThePreferredCommunityFirst) {
  int opened = 0;
  auto sys = query_system(query({"public", "school-ro"}, 1),
                          opener_for("school-ro", system_table(), false, &opened));
  EXPECT_TRUE(sys.responded);
  EXPECT_EQ(opened, 1);
}

TEST(SnmpDevice, ASilentDeviceIsRecordedAsNoAnswer) {
  auto sys = query_system(query({"public", "private"}), opener_for("nobody", {}));
  EXPECT_FALSE(sys.responded);
  EXPECT_EQ(sys.error, "no_answer");
}

TEST(SnmpDevice, WrongTypesLoseOnlyTheirColumn) {
  auto t = system_table();
  VarBind bad;
  bad.oid = parse_oid("1.3.6.1.2.1.1.2.0");
  bad.type = VarType::octets;  // sysObjectID as a string
  bad.bytes = "oops";
  t[bad.oid] = bad;
  VarBind null_if;
  null_if.oid = parse_oid("1.3.6.1.2.1.2.1.0");
  null_if.type = VarType::null;
  t[null_if.oid] = null_if;
  auto sys = query_system(query({"public"}), opener_for("public", t));
  ASSERT_TRUE(sys.responded);
  EXPECT_TRUE(sys.sys_object_id.empty());
  EXPECT_EQ(sys.sys_descr, "Brother NC-6800h");
  ASSERT_EQ(sys.problems.size(), 2u);
  EXPECT_EQ(sys.problems[0].reason, "wrong_type");
  EXPECT_NE(sys.problems[0].detail.find("sysObjectID"), std::string::npos);
}

TEST(SnmpDevice, V1AgentsMissingAnObjectAreAskedOneByOne) {
  auto sys = query_system(query({"public"}), opener_for("public", system_table(), /*v1=*/true));
  ASSERT_TRUE(sys.responded);
  EXPECT_EQ(sys.sys_descr, "Brother NC-6800h");
  EXPECT_EQ(sys.sys_name, "printer");
}

TEST(Oid, ParsesFormatsAndOrders) {
  EXPECT_EQ(format_oid(parse_oid(".1.3.6.1.2.1.1.1.0")), "1.3.6.1.2.1.1.1.0");
  EXPECT_TRUE(parse_oid("1.3.x").empty());
  EXPECT_LT(oid_compare(parse_oid("1.3.6.1.2"), parse_oid("1.3.6.1.10")), 0);
  EXPECT_LT(oid_compare(parse_oid("1.3.6"), parse_oid("1.3.6.0")), 0);
  EXPECT_EQ(oid_compare(parse_oid("1.3.6"), parse_oid("1.3.6")), 0);
  EXPECT_TRUE(oid_starts_with(parse_oid("1.3.6.1.2.1.43.5.1"), parse_oid("1.3.6.1.2.1.43")));
}

}  // namespace
}  // namespace schoolnet::discovery
