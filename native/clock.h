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

// A clock that never steps and keeps counting while the machine sleeps, in milliseconds since
// an arbitrary origin: mach_continuous_time on macOS, CLOCK_BOOTTIME on Linux.
double ContinuousClockMs();

// A clock that never steps and does NOT count sleep, in milliseconds since an arbitrary
// origin: mach_absolute_time on macOS, CLOCK_MONOTONIC on Linux. ContinuousClockMs() minus
// MonotonicClockMs() is the total time slept since boot: constant while the machine is awake,
// larger by the sleep after a wake (xnu osfmk/kern/clock.c clock_wakeup_calendar_hwclock:
// total_sleep_time = mach_continuous_time() - mach_absolute_time()).
// Not process.hrtime: libuv >= 1.38.1 implements it with mach_continuous_time on macOS
// (libuv src/unix/darwin.c uv__hrtime_init_once), which counts sleep.
double MonotonicClockMs();

// The kernel's own NTP discipline state, read without changing it: ntp_adjtime with modes = 0
// on macOS, adjtimex with modes = 0 on Linux (same struct timex fields on both).
struct KernelTimeStatus {
  int state = 0;         // TIME_OK=0 … TIME_ERROR=5, as the call returned it
  long maxErrorUs = 0;   // maximum error, microseconds
  long estErrorUs = 0;   // estimated error, microseconds
  int statusFlags = 0;   // STA_* bits (STA_UNSYNC = 0x40 …)
  double offsetUs = 0;   // the kernel PLL's current offset, microseconds
};

// Returns false and sets *error (strerror-style text) when the call failed.
bool ReadKernelTimeStatus(KernelTimeStatus* out, std::string* error);

// What a clock-change watcher reports.
struct WatchEvent {
  enum class Kind {
    // The wall clock may have been set: measure now. That is all both OSes promise:
    // - macOS: "com.apple.system.clock_set" is posted by Libc's settimeofday() wrapper after
    //   a successful call (Libc sys/settimeofday.c; clock_settime(CLOCK_REALTIME) goes through
    //   it, Libc gen/clock_gettime.c). Not by the kernel and not on wake; a step made with the
    //   raw syscall or slewed with adjtime() posts nothing; several posts in quick succession
    //   may arrive as one (Libnotify notify.3: "Notifications may be coalesced").
    // - Linux: a TFD_TIMER_CANCEL_ON_SET timerfd fires on every discontinuous set of
    //   CLOCK_REALTIME (settimeofday, clock_settime, adjtimex ADJ_SETOFFSET) and also on
    //   resume from suspend (kernel timekeeping_resume -> timerfd_resume), with or without a
    //   step.
    // So an event may come without a step, and a step may come without an event: the drift
    // check in agent/clock/clock-events.ts is the backstop.
    kClockMayHaveBeenSet,
    // The watcher stopped working (error says why) and will report nothing more; the drift
    // check keeps covering steps.
    kWatcherFailed,
  };
  Kind kind = Kind::kClockMayHaveBeenSet;
  std::string error;
};

// Delivers WatchEvents on a thread owned by the watcher (never the JS thread). The callback
// must not throw. Stop() is idempotent and, once it returns, the callback is not called again.
// Stop() must NOT be called from inside the callback: it waits for a call in progress to end
// (macOS: takes the mutex the notify handler holds while it calls back, since Libnotify may
// still run the handler after notify_cancel, see native/darwin/clock.cc; Linux: joins the
// thread), so it would deadlock.
class ClockChangeWatcher {
 public:
  virtual ~ClockChangeWatcher() = default;
  virtual void Stop() = 0;
};

// Returns nullptr and sets *error when the OS refused to start the watcher. May throw
// std::bad_alloc or std::system_error (thread creation): the binding turns those into JS errors.
std::unique_ptr<ClockChangeWatcher> StartClockChangeWatcher(std::function<void(const WatchEvent&)> onEvent,
                                                            std::string* error);

}  // namespace clock
}  // namespace tg
