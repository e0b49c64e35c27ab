// Randomness behind an interface so that jittered schedules and backoff are testable.
#pragma once

#include <cstdint>
#include <random>

namespace schoolnet {

class Random {
 public:
  virtual ~Random() = default;
  // Uniform in [0, 1).
  virtual double uniform() = 0;
  // Uniform integer in [0, bound), bound > 0.
  int64_t below(int64_t bound) {
    const auto v = static_cast<int64_t>(uniform() * static_cast<double>(bound));
    return v < bound ? v : bound - 1;
  }
};

class SystemRandom final : public Random {
 public:
  SystemRandom() : gen_(std::random_device{}()) {}
  double uniform() override { return std::uniform_real_distribution<double>(0.0, 1.0)(gen_); }

 private:
  std::mt19937_64 gen_;
};

// Returns the values it was given, in turn (tests).
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(double v = 0.5) : v_(v) {}
  double uniform() override { return v_; }
  void set(double v) { v_ = v; }

 private:
  double v_;
};

}  // namespace schoolnet
