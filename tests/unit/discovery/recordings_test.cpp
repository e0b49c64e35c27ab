// The real recordings' oddities, replayed in file order (see support/snmprec_session.hpp):
// repeated and backwards OIDs end a walk with a partial result and a reason; every table of
// every plain recording can be read without a crash or a hang.
#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "discovery/inventory.hpp"
#include "discovery/snmp_tables.hpp"
#include "support/snmprec_session.hpp"

namespace schoolnet::discovery {
namespace {

const std::string kData = std::string(SCHOOLNET_TEST_DATA) + "/snmprec/";

TEST(Recordings, AProcurveThatRepeatsArpRowsEndsTheArpWalkWithAReason) {
  testing::SnmprecSession s(kData + "librenms__procurve.snmprec");
  ASSERT_GT(s.records(), 1000u);
  WalkTuning t;
  auto r = walk(s, parse_oid("1.3.6.1.2.1.4.22.1.2"), t, {});
  EXPECT_EQ(r.stopped, "oid_not_increasing");
  EXPECT_FALSE(r.rows.empty()) << "the rows before the repeat are kept";
}

TEST(Recordings, ACanonPrinterWithDuplicateLinesEndsThatWalkWithAReason) {
  testing::SnmprecSession s(kData + "librenms__canonprinter_lbp.snmprec");
  WalkTuning t;
  auto r = walk(s, parse_oid("1.3.6.1.2.1.4.20.1.2"), t, {});
  EXPECT_EQ(r.stopped, "oid_not_increasing");
}

TEST(Recordings, TheProblemIsRecordedAgainstItsTableAndTheRestIsRead) {
  testing::SnmprecSession s(kData + "librenms__procurve.snmprec");
  WalkTuning t;
  DeviceDetails d = collect_details(s, t, TableOptions{});
  bool arp_problem = false;
  for (const auto& p : d.problems) {
    arp_problem |= p.table == "ipNetToMediaTable" && p.reason == "oid_not_increasing";
  }
  EXPECT_TRUE(arp_problem);
  EXPECT_FALSE(d.interfaces.empty());
  EXPECT_FALSE(d.entity.model.empty());
}

// An HP LaserJet M880 reports its four toner cartridges as prtMarkerSuppliesType 21
// (tonerCartridge): the school sees four toner cartridges with their levels.
TEST(Recordings, AnM880ReportsItsTonerCartridgesAsSuch) {
  testing::SnmprecSession s(kData + "librenms__jetdirect_m880.snmprec");
  WalkTuning t;
  Observations obs;
  SnmpSystem sys;
  sys.address = "10.0.0.40";
  sys.responded = true;
  sys.sys_descr = "HP ETHERNET MULTI-ENVIRONMENT";
  sys.sys_object_id = parse_oid("1.3.6.1.4.1.11.2.3.9.1");
  obs.snmp = {sys};
  obs.details["10.0.0.40"] = collect_details(s, t, TableOptions{});
  MergeOptions o;
  o.classifier = &Classifier::builtin();
  o.pseudonym_key = std::string(32, 'k');
  const auto devices = merge(obs, o).devices;  // the printer and its ARP table's neighbours
  auto printer = std::find_if(devices.begin(), devices.end(), [](const v1::DeviceSnapshot& d) {
    return d.device_class() == v1::DEVICE_CLASS_PRINTER;
  });
  ASSERT_NE(printer, devices.end());
  int cartridges = 0;
  for (const auto& sup : printer->supplies()) {
    if (sup.type() == "toner_cartridge") {
      ++cartridges;
      EXPECT_NE(sup.description().find("Cartridg"), std::string::npos) << sup.description();
    }
  }
  EXPECT_EQ(cartridges, 4);
}

// A core switch with a huge forwarding table must not keep one pass busy for ever: past the
// device's row budget the remaining tables are skipped, and the device says so.
TEST(Recordings, TheDeviceRowBudgetStopsTheTablesAndIsRecorded) {
  testing::SnmprecSession s(kData + "librenms__procurve.snmprec");
  WalkTuning t;
  TableOptions o;
  o.device_max_rows = 150;
  DeviceDetails d = collect_details(s, t, o);
  size_t budget_problems = 0;
  for (const auto& p : d.problems) {
    budget_problems += p.reason == "row_budget";
  }
  EXPECT_GE(budget_problems, 1u);
  EXPECT_LE(d.interfaces.size(), 150u);
  TableOptions unbounded;
  DeviceDetails all = collect_details(s, t, unbounded);
  EXPECT_GT(all.interfaces.size() + all.arp.size() + all.fdb.size(),
            d.interfaces.size() + d.arp.size() + d.fdb.size());
}

TEST(Recordings, EveryPlainRecordingIsReadToTheEndWithinBudgets) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kData)) {
    if (entry.path().extension() != ".snmprec") {
      continue;
    }
    ++files;
    testing::SnmprecSession s(entry.path().string());
    WalkTuning t;
    TableOptions o;
    o.budget.max_rows = 5000;
    DeviceDetails d = collect_details(s, t, o);
    EXPECT_LT(s.requests(), 20000) << entry.path();
    for (const auto& p : d.problems) {
      EXPECT_NE(p.reason, "timeout") << entry.path() << ": " << p.table;
    }
  }
  EXPECT_GE(files, 30u);
}

}  // namespace
}  // namespace schoolnet::discovery
