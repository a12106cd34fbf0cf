// Clock capability: the platform-neutral interface that native/darwin/clock.cc and
// native/linux/clock.cc implement. Each function is one OS operation returning plain data;
// what the numbers mean for the guardrail is decided in agent/clock.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace tg {
namespace clock {

// Wall clock as Unix time in milliseconds (fractional).
double WallClockMs();

// A clock that never steps and keeps counting during sleep, in milliseconds since an
// arbitrary origin (mach_continuous_time on macOS, CLOCK_BOOTTIME on Linux).
double ContinuousClockMs();

// The kernel's own NTP discipline state (ntp_gettime on macOS, adjtimex on Linux).
struct KernelTimeStatus {
  int state = 0;            // TIME_OK=0 … TIME_ERROR=5, as the kernel returned it
  long maxErrorUs = 0;      // maximum error, microseconds
  long estErrorUs = 0;      // estimated error, microseconds
  bool hasStatusFlags = false;
  int statusFlags = 0;      // STA_* bits (Linux only; ntp_gettime on macOS has none)
  bool hasOffset = false;
  double offsetUs = 0;      // current PLL offset (Linux only)
};

// Returns false and sets *error (strerror-style text) when the call failed.
bool ReadKernelTimeStatus(KernelTimeStatus* out, std::string* error);

// Delivers an event each time the wall clock is set (stepped). The callback runs on a
// thread owned by the watcher (never the JS thread). Stop() is idempotent and, once it
// returns, the callback is not called again.
class ClockChangeWatcher {
 public:
  virtual ~ClockChangeWatcher() = default;
  virtual void Stop() = 0;
};

std::unique_ptr<ClockChangeWatcher> StartClockChangeWatcher(std::function<void()> onChange,
                                                            std::string* error);

}  // namespace clock
}  // namespace tg
