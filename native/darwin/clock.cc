// macOS clock capability: CFAbsoluteTimeGetCurrent, mach_continuous_time / mach_absolute_time,
// ntp_adjtime and the "com.apple.system.clock_set" notification that Libc's settimeofday()
// posts after it set the clock.
#include "clock.h"

#include <CoreFoundation/CoreFoundation.h>
#include <dispatch/dispatch.h>
#include <errno.h>
#include <mach/mach_time.h>
#include <notify.h>
#include <notify_keys.h>
#include <string.h>
#include <sys/timex.h>

#include <atomic>
#include <new>

namespace tg {
namespace clock {

namespace {
// Posted by Libc's settimeofday() wrapper after a successful call (Libc sys/settimeofday.c:
// `if (ret == 0) notify_post(kNotifyClockSet);`), so also by clock_settime(CLOCK_REALTIME),
// which calls settimeofday (Libc gen/clock_gettime.c). notify_keys.h's kNotifyClockSet is
// Apple's name; we only listen to it.
const char kClockSetNotification[] = kNotifyClockSet;

class NotifyWatcher : public ClockChangeWatcher {
 public:
  NotifyWatcher(dispatch_queue_t queue, std::function<void(const WatchEvent&)> onEvent)
      : queue_(queue), onEvent_(std::move(onEvent)) {}
  ~NotifyWatcher() override { Stop(); }

  // Registers after construction so that the handler block can capture `this`.
  bool Register(std::string* error) {
    std::function<void(const WatchEvent&)>* callback = &onEvent_;
    uint32_t status = notify_register_dispatch(kClockSetNotification, &token_, queue_, ^(int) {
      // A block that throws would terminate the process: the callback must not, and this
      // catch makes sure of it.
      try {
        WatchEvent event;
        event.kind = WatchEvent::Kind::kClockMayHaveBeenSet;
        (*callback)(event);
      } catch (...) {
      }
    });
    if (status != NOTIFY_STATUS_OK) {
      *error = "notify_register_dispatch failed with status " + std::to_string(status);
      return false;
    }
    registered_ = true;
    return true;
  }

  // Must not run on queue_ (from inside the handler): dispatch_sync onto the serial queue one
  // is running on deadlocks (see clock.h).
  void Stop() override {
    if (stopped_.exchange(true)) return;
    if (registered_) notify_cancel(token_);
    // notify_cancel stops new deliveries; a handler already queued still runs, so wait for
    // the queue to drain: none runs after Stop() returns.
    dispatch_sync(queue_, ^{
                  });
    dispatch_release(queue_);
  }

 private:
  dispatch_queue_t queue_;
  std::function<void(const WatchEvent&)> onEvent_;
  int token_ = 0;
  bool registered_ = false;
  std::atomic<bool> stopped_{false};
};

mach_timebase_info_data_t Timebase() {
  static const mach_timebase_info_data_t timebase = [] {
    mach_timebase_info_data_t info = {1, 1};
    // Cannot fail on a real Mac; if it ever did, ticks are taken as nanoseconds rather
    // than dividing by zero.
    if (mach_timebase_info(&info) != KERN_SUCCESS || info.denom == 0) info = {1, 1};
    return info;
  }();
  return timebase;
}

double TicksToMs(uint64_t ticks) {
  const mach_timebase_info_data_t timebase = Timebase();
  long double ns = static_cast<long double>(ticks) * timebase.numer / timebase.denom;
  return static_cast<double>(ns / 1e6L);
}
}  // namespace

double WallClockMs() {
  return (CFAbsoluteTimeGetCurrent() + kCFAbsoluteTimeIntervalSince1970) * 1000.0;
}

// mach_continuous_time = mach_absolute_time + the time slept since boot (xnu
// libsyscall/wrappers/mach_continuous_time.c: `*cont_time = absolute + read1`, the commpage
// sleep offset; osfmk/mach/mach_time.h: "like mach_absolute_time, but advances during sleep").
double ContinuousClockMs() { return TicksToMs(mach_continuous_time()); }

// mach_absolute_time does not advance while the Mac sleeps (xnu osfmk/kern/clock.c,
// clock_wakeup_calendar_hwclock: total_sleep_time = mach_continuous_time() - abstime).
double MonotonicClockMs() { return TicksToMs(mach_absolute_time()); }

bool ReadKernelTimeStatus(KernelTimeStatus* out, std::string* error) {
  // Not ntp_gettime: xnu returns the clock state as that syscall's error
  // (bsd/kern/kern_ntptime.c ntp_gettime: `return ntv.time_state;`), so whenever the state is
  // not TIME_OK it fails with errno = the state, and the kernel boots unsynchronised
  // (`int time_status = STA_UNSYNC;` -> TIME_ERROR, i.e. EIO). ntp_adjtime returns the state
  // normally (`*retval = ret;`), and with modes == 0 it changes nothing and needs no privilege
  // (the entitlement/priv_check_cred test is under `if (modes)`).
  struct timex tx;
  memset(&tx, 0, sizeof tx);  // modes = 0: read only
  int state = ntp_adjtime(&tx);
  if (state < 0) {
    *error = std::string("ntp_adjtime: ") + strerror(errno);
    return false;
  }
  out->state = state;
  out->maxErrorUs = tx.maxerror;
  out->estErrorUs = tx.esterror;
  out->statusFlags = tx.status;
  // kern_ntptime.c returns the offset in ns when STA_NANO is set, else in µs.
  out->offsetUs = (tx.status & STA_NANO) ? static_cast<double>(tx.offset) / 1000.0 : static_cast<double>(tx.offset);
  return true;
}

std::unique_ptr<ClockChangeWatcher> StartClockChangeWatcher(std::function<void(const WatchEvent&)> onEvent,
                                                            std::string* error) {
  dispatch_queue_t queue = dispatch_queue_create("com.trustguard.agent.clock", DISPATCH_QUEUE_SERIAL);
  if (queue == nullptr) {
    *error = "dispatch_queue_create failed";
    return nullptr;
  }
  // From here on the watcher owns the queue and releases it in Stop().
  std::unique_ptr<NotifyWatcher> watcher(new (std::nothrow) NotifyWatcher(queue, std::move(onEvent)));
  if (!watcher) {
    dispatch_release(queue);
    *error = "out of memory";
    return nullptr;
  }
  if (!watcher->Register(error)) return nullptr;
  return watcher;
}

}  // namespace clock
}  // namespace tg
