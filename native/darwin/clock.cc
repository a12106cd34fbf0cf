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

#include <memory>
#include <mutex>
#include <new>

namespace tg {
namespace clock {

namespace {
// Posted by Libc's settimeofday() wrapper after a successful call (Libc sys/settimeofday.c:
// `if (ret == 0) notify_post(kNotifyClockSet);`), so also by clock_settime(CLOCK_REALTIME),
// which calls settimeofday (Libc gen/clock_gettime.c). notify_keys.h's kNotifyClockSet is
// Apple's name; we only listen to it.
const char kClockSetNotification[] = kNotifyClockSet;

// What the handler block needs, shared by the watcher and every copy of the block: Libnotify
// keeps the block (and calls it) after notify_cancel, so the block must never point into the
// watcher. Libnotify's notify_cancel (notify_client.c) only sets NOTIFY_FLAG_CANCELED and drops
// one reference; the registration leaves its table when the last reference goes, and a
// delivery already under way holds one: _notify_dispatch_handle (notify_client.c) copies the
// block and queues a wrapper whose only check is notify_is_valid_token -> _nc_table_find_n,
// which does not look at CANCELED. So the block may run after notify_cancel returned, and
// after any drain of the queue. It holds this state by shared_ptr (a C++ object captured by a
// block is copied with it), and does nothing once `stopped` is set.
struct WatchState {
  explicit WatchState(std::function<void(const WatchEvent&)> callback) : onEvent(std::move(callback)) {}
  std::mutex mutex;
  bool stopped = false;  // guarded by mutex
  std::function<void(const WatchEvent&)> onEvent;
};

class NotifyWatcher : public ClockChangeWatcher {
 public:
  NotifyWatcher(dispatch_queue_t queue, std::function<void(const WatchEvent&)> onEvent)
      : queue_(queue), state_(std::make_shared<WatchState>(std::move(onEvent))) {}
  ~NotifyWatcher() override {
    Stop();
    dispatch_release(queue_);
  }

  bool Register(std::string* error) {
    std::shared_ptr<WatchState> state = state_;
    uint32_t status = notify_register_dispatch(kClockSetNotification, &token_, queue_, ^(int) {
      // The callback runs with the mutex held, so Stop() (which takes it) returns only after
      // a call in progress ended, and no call starts after it.
      std::lock_guard<std::mutex> lock(state->mutex);
      if (state->stopped) return;
      // A block that throws would terminate the process: the callback must not, and this
      // catch makes sure of it.
      try {
        WatchEvent event;
        event.kind = WatchEvent::Kind::kClockMayHaveBeenSet;
        state->onEvent(event);
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

  // Must not run inside the callback: it takes the mutex the callback runs under (see clock.h).
  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      if (state_->stopped) return;
      state_->stopped = true;
    }
    // After `stopped`: a delivery Libnotify still makes finds it set (see WatchState).
    if (registered_) notify_cancel(token_);
  }

 private:
  dispatch_queue_t queue_;
  std::shared_ptr<WatchState> state_;
  int token_ = 0;
  bool registered_ = false;
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
  // From here on the watcher owns the queue and releases it when it is destroyed (Libnotify
  // keeps its own reference for the registration: notify_client.c registration_node_free).
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
