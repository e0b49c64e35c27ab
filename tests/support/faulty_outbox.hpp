// Wraps an Outbox and makes the Nth operation (counting every call) fail, for fault matrices:
// "for N = 0..k, the Nth store operation fails; afterwards nothing is lost or duplicated".
#pragma once

#include "store/outbox.hpp"

namespace schoolnet::testing {

class FaultyOutbox final : public store::Outbox {
 public:
  FaultyOutbox(store::Outbox& inner, int fail_at) : inner_(inner), fail_at_(fail_at) {}

  Status append(std::vector<v1::Record>& r) override {
    if (trip()) {
      return fault();
    }
    return inner_.append(r);
  }
  Result<std::optional<store::SealedBatch>> next_batch(const store::BatchHeader& h,
                                                       const store::BatchLimits& l) override {
    if (trip()) {
      return fault();
    }
    return inner_.next_batch(h, l);
  }
  Status acknowledge(uint64_t seq) override {
    if (trip()) {
      return fault();
    }
    return inner_.acknowledge(seq);
  }
  Status quarantine(uint64_t seq, const std::string& reason) override {
    if (trip()) {
      return fault();
    }
    return inner_.quarantine(seq, reason);
  }
  Status split(uint64_t seq) override {
    if (trip()) {
      return fault();
    }
    return inner_.split(seq);
  }
  Status rebase(uint64_t seq, uint64_t next_seq) override {
    if (trip()) {
      return fault();
    }
    return inner_.rebase(seq, next_seq);
  }
  Status mark_maybe_delivered(uint64_t seq) override {
    if (trip()) {
      return fault();
    }
    return inner_.mark_maybe_delivered(seq);
  }
  Result<store::Accounting> accounting() override { return inner_.accounting(); }

  int calls() const { return calls_; }
  bool tripped() const { return tripped_; }

 private:
  bool trip() {
    const bool now = calls_++ == fail_at_;
    tripped_ = tripped_ || now;
    return now;
  }
  static Error fault() { return make_error("store_io", "injected fault"); }

  store::Outbox& inner_;
  int fail_at_;
  int calls_ = 0;
  bool tripped_ = false;
};

}  // namespace schoolnet::testing
