// Fuzz target: a device that answers with arbitrary varbinds under the roots discovery walks
// (any order, repeats, wrong types, odd index lengths, huge lengths of octets). The first byte
// picks how it misbehaves with GETBULK. The whole input also goes to the sweep's decoder of
// SNMP replies. Nothing may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <map>

#include "discovery/snmp_tables.hpp"
#include "discovery/sweep.hpp"
#include "discovery/v3_helper.hpp"

namespace {

using namespace schoolnet::discovery;
using schoolnet::Result;

const char* const kRoots[] = {
    "1.3.6.1.2.1.2.2.1",      "1.3.6.1.2.1.31.1.1.1",     "1.3.6.1.2.1.47.1.1.1.1",
    "1.0.8802.1.1.2.1.4.1.1", "1.0.8802.1.1.2.1.3.7.1",   "1.3.6.1.2.1.17.1.4.1",
    "1.3.6.1.2.1.17.4.3.1",   "1.3.6.1.2.1.17.7.1.2.2.1", "1.3.6.1.2.1.4.35.1",
    "1.3.6.1.2.1.4.22.1",     "1.3.6.1.2.1.43.11.1.1",    "1.3.6.1.2.1.43.10.2.1",
    "1.3.6.1.2.1.25.3.5.1",   "1.3.6.1.2.1.33.1",         "1.3.6.1.2.1.25.2.3.1",
    "1.3.6.1.2.1.25.3.3.1",   "1.3.6.1.4.1.318.1.1.1",
};

class Fuzzed final : public SnmpSession {
 public:
  std::vector<VarBind> rows;  // in "device order", possibly unsorted
  int mode = 0;

  Result<std::vector<VarBind>> get(const std::vector<Oid>& oids) override {
    std::vector<VarBind> out;
    for (const Oid& o : oids) {
      VarBind v;
      v.oid = o;
      v.type = VarType::no_such_object;
      for (const VarBind& r : rows) {
        if (r.oid == o) {
          v = r;
          break;
        }
      }
      out.push_back(v);
    }
    return out;
  }
  Result<std::vector<VarBind>> get_next(const std::vector<Oid>& oids) override {
    if (++calls > 5000) {
      return schoolnet::make_error("timeout");
    }
    return std::vector<VarBind>{next_after(oids.at(0))};
  }
  Result<std::vector<VarBind>> get_bulk(const Oid& oid, int reps) override {
    if (mode % 3 == 1) {
      return schoolnet::make_error("timeout");
    }
    if (mode % 3 == 2 && reps > 4) {
      return std::vector<VarBind>{};
    }
    if (++calls > 5000) {
      return schoolnet::make_error("timeout");
    }
    std::vector<VarBind> out;
    Oid cur = oid;
    for (int i = 0; i < reps; ++i) {
      out.push_back(next_after(cur));
      cur = out.back().oid;
    }
    return out;
  }

 private:
  // File-order answers: the row after the first equal one, else the first greater one.
  VarBind next_after(const Oid& o) const {
    for (size_t i = 0; i + 1 < rows.size(); ++i) {
      if (rows[i].oid == o) {
        return rows[i + 1];
      }
    }
    for (const VarBind& r : rows) {
      if (oid_compare(r.oid, o) > 0) {
        return r;
      }
    }
    VarBind end;
    end.oid = o;
    end.type = VarType::end_of_mib_view;
    return end;
  }
  int calls = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)message_community(data, size);
  (void)decode_answer(std::string_view(reinterpret_cast<const char*>(data), size));
  if (size < 1) {
    return 0;
  }
  Fuzzed device;
  device.mode = data[0];
  size_t pos = 1;
  auto take = [&](uint8_t& b) {
    if (pos >= size) {
      return false;
    }
    b = data[pos++];
    return true;
  };
  uint8_t root = 0, column = 0, index_len = 0, type = 0, value_len = 0;
  while (take(root) && take(column) && take(index_len) && take(type) && take(value_len)) {
    VarBind v;
    v.oid = parse_oid(kRoots[root % (sizeof kRoots / sizeof kRoots[0])]);
    v.oid.push_back(column % 24);
    for (int i = 0; i < index_len % 12; ++i) {
      uint8_t arc = 0;
      take(arc);
      v.oid.push_back(arc);
    }
    v.type = static_cast<VarType>(type % 14);
    const size_t n = std::min<size_t>(value_len, size - std::min(size, pos));
    v.bytes.assign(reinterpret_cast<const char*>(data + pos), n);
    pos += n;
    int64_t number = 0;
    for (char c : v.bytes.substr(0, 8)) {
      number = (number << 8) | static_cast<uint8_t>(c);
    }
    v.integer = number;
    v.unsigned_value = static_cast<uint64_t>(number);
    if (v.type == VarType::oid) {
      for (char c : v.bytes) {
        v.oid_value.push_back(static_cast<uint8_t>(c));
      }
    }
    device.rows.push_back(std::move(v));
  }
  WalkTuning tuning;
  TableOptions options;
  options.budget.max_rows = 2000;
  options.presence_roots = {parse_oid("1.3.6.1.2.1.33.1")};
  int64_t fake_ms = 0;
  (void)collect_details(device, tuning, options, [&] { return fake_ms += 1; });
  return 0;
}
