// Time comes in through Clock, never from globals, so tests can drive it (steps forwards and
// backwards, an unsynchronised boot at 1970) without sleeping.
#pragma once

#include <cstdint>
#include <string>

namespace schoolnet {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall clock, unix milliseconds. May jump in either direction.
  virtual int64_t wall_ms() const = 0;
  // Monotonic milliseconds since an arbitrary point in this boot. Never goes back.
  virtual int64_t mono_ms() const = 0;
  // Whether the kernel reports the wall clock as synchronised (adjtimex, STA_UNSYNC clear).
  virtual bool synchronised() const = 0;
  // Identifies the boot that mono_ms() belongs to.
  virtual std::string boot_id() const = 0;
};

// The real clocks: CLOCK_REALTIME, CLOCK_MONOTONIC (which, unlike BOOTTIME, does not jump after a
// suspend; the box does not suspend), adjtimex and /proc/sys/kernel/random/boot_id.
//
// Test and diagnostic hook: when the environment variable SCHOOLNET_CLOCK_SYNC_FILE names a
// path, synchronised() is true exactly while that file exists, instead of asking adjtimex.
// Integration tests drive the wall clock with libfaketime, which cannot fake adjtimex; a
// technician can use it to see how the agent behaves before NTP has synchronised. Nothing else
// changes: the wall and monotonic clocks are still the kernel's.
class SystemClock final : public Clock {
 public:
  SystemClock();
  int64_t wall_ms() const override;
  int64_t mono_ms() const override;
  bool synchronised() const override;
  std::string boot_id() const override { return boot_id_; }

 private:
  std::string boot_id_;
  std::string sync_file_;  // from SCHOOLNET_CLOCK_SYNC_FILE; empty: adjtimex decides
};

// A clock the test sets by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_ms = 1'700'000'000'000, int64_t mono_ms = 1'000,
                       bool synced = true, std::string boot_id = "test-boot")
      : wall_(wall_ms), mono_(mono_ms), synced_(synced), boot_(std::move(boot_id)) {}
  int64_t wall_ms() const override { return wall_; }
  int64_t mono_ms() const override { return mono_; }
  bool synchronised() const override { return synced_; }
  std::string boot_id() const override { return boot_; }

  // Both clocks move on together, as in real life.
  void advance_ms(int64_t ms) {
    wall_ += ms;
    mono_ += ms;
  }
  // Only the wall clock jumps (NTP step, manual change).
  void step_wall_ms(int64_t delta) { wall_ += delta; }
  void set_wall_ms(int64_t wall) { wall_ = wall; }
  void set_synchronised(bool s) { synced_ = s; }
  void set_boot_id(std::string b) { boot_ = std::move(b); }

 private:
  int64_t wall_;
  int64_t mono_;
  bool synced_;
  std::string boot_;
};

// Formats unix ms as RFC 3339 UTC with milliseconds ("2026-12-03T18:20:29.123Z").
std::string format_utc_ms(int64_t unix_ms);

}  // namespace schoolnet
