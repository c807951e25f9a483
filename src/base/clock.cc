#include "base/clock.h"

#include <time.h>

namespace vudo {
namespace {
uint64_t Read(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}
}  // namespace

const SystemClock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}
uint64_t SystemClock::MonotonicNs() const { return Read(CLOCK_MONOTONIC); }
uint64_t SystemClock::WallNs() const { return Read(CLOCK_REALTIME); }

}  // namespace vudo
