// Time as an injectable interface, so that protocol engines and tests can run
// on simulated time. Times are nanoseconds.
#pragma once

#include <cstdint>

namespace vudo {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds (arbitrary epoch).
  virtual uint64_t MonotonicNs() const = 0;
  // Nanoseconds since the Unix epoch.
  virtual uint64_t WallNs() const = 0;
};

// The real clocks (CLOCK_MONOTONIC, CLOCK_REALTIME).
class SystemClock final : public Clock {
 public:
  static const SystemClock& Get();
  uint64_t MonotonicNs() const override;
  uint64_t WallNs() const override;
};

// A clock that moves only when told to. Not thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(uint64_t start_ns = 1'000'000'000,
                     uint64_t wall_start_ns = 1'700'000'000'000'000'000)
      : mono_(start_ns), wall_(wall_start_ns) {}
  uint64_t MonotonicNs() const override { return mono_; }
  uint64_t WallNs() const override { return wall_; }
  void Advance(uint64_t ns) {
    mono_ += ns;
    wall_ += ns;
  }

 private:
  uint64_t mono_;
  uint64_t wall_;
};

}  // namespace vudo
