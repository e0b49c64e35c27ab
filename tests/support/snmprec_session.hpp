// An SnmpSession that answers from a .snmprec recording in *file order*, the way a device with
// a broken table iterator does: GETNEXT returns the record after the first record equal to the
// asked OID (so a repeated OID comes back again, and a step backwards in the file is a step
// backwards on the wire). Used to replay the recordings' real oddities, which snmpsim itself
// smooths away by indexing.
#pragma once

#include <string>
#include <vector>

#include "discovery/snmp.hpp"

namespace schoolnet::testing {

class SnmprecSession final : public discovery::SnmpSession {
 public:
  // Loads OID|TYPE|VALUE lines (4x and other hex tags decoded, "type:variation" reduced to the
  // type); lines that are not records are skipped. An unreadable file leaves it empty.
  explicit SnmprecSession(const std::string& path);

  size_t records() const { return rows_.size(); }
  int requests() const { return requests_; }

  Result<std::vector<discovery::VarBind>> get(const std::vector<discovery::Oid>& oids) override;
  Result<std::vector<discovery::VarBind>> get_next(
      const std::vector<discovery::Oid>& oids) override;
  Result<std::vector<discovery::VarBind>> get_bulk(const discovery::Oid& oid,
                                                   int max_repetitions) override;

 private:
  discovery::VarBind next_after(const discovery::Oid& oid) const;
  std::vector<discovery::VarBind> rows_;
  int requests_ = 0;
};

}  // namespace schoolnet::testing
