// macOS clock capability: CFAbsoluteTimeGetCurrent, mach_continuous_time, ntp_gettime and
// the "com.apple.system.clock_set" notification that notifyd posts when the clock is set.
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

namespace tg {
namespace clock {

namespace {
// The notification posted when settimeofday() changes the clock: notify_keys.h's
// kNotifyClockSet ("com.apple.system.clock_set"; Apple's name, we only listen to it).
const char kClockSetNotification[] = kNotifyClockSet;

class NotifyWatcher : public ClockChangeWatcher {
 public:
  NotifyWatcher(dispatch_queue_t queue, std::function<void()> onChange)
      : queue_(queue), onChange_(std::move(onChange)) {}
  ~NotifyWatcher() override { Stop(); }

  // Registers after construction so that the handler block can capture `this`.
  bool Register(std::string* error) {
    std::function<void()>* callback = &onChange_;
    uint32_t status = notify_register_dispatch(kClockSetNotification, &token_, queue_,
                                               ^(int) { (*callback)(); });
    if (status != NOTIFY_STATUS_OK) {
      *error = "notify_register_dispatch failed with status " + std::to_string(status);
      return false;
    }
    registered_ = true;
    return true;
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    if (registered_) notify_cancel(token_);
    // Drain any handler already queued so none runs after Stop() returns.
    dispatch_sync(queue_, ^{
                  });
    dispatch_release(queue_);
  }

 private:
  dispatch_queue_t queue_;
  std::function<void()> onChange_;
  int token_ = 0;
  bool registered_ = false;
  std::atomic<bool> stopped_{false};
};
}  // namespace

double WallClockMs() {
  return (CFAbsoluteTimeGetCurrent() + kCFAbsoluteTimeIntervalSince1970) * 1000.0;
}

double ContinuousClockMs() {
  static mach_timebase_info_data_t timebase = [] {
    mach_timebase_info_data_t info = {1, 1};
    // Cannot fail on a real Mac; if it ever did, ticks are taken as nanoseconds rather
    // than dividing by zero.
    if (mach_timebase_info(&info) != KERN_SUCCESS || info.denom == 0) info = {1, 1};
    return info;
  }();
  // mach_continuous_time keeps counting while the Mac sleeps (macOS 10.12+).
  long double ticks = static_cast<long double>(mach_continuous_time());
  return static_cast<double>(ticks * timebase.numer / timebase.denom / 1e6L);
}

bool ReadKernelTimeStatus(KernelTimeStatus* out, std::string* error) {
  struct ntptimeval ntv;
  memset(&ntv, 0, sizeof ntv);
  int state = ntp_gettime(&ntv);
  if (state < 0) {
    *error = std::string("ntp_gettime: ") + strerror(errno);
    return false;
  }
  out->state = state;
  out->maxErrorUs = ntv.maxerror;
  out->estErrorUs = ntv.esterror;
  out->hasStatusFlags = false;
  out->hasOffset = false;
  return true;
}

std::unique_ptr<ClockChangeWatcher> StartClockChangeWatcher(std::function<void()> onChange,
                                                            std::string* error) {
  dispatch_queue_t queue = dispatch_queue_create("com.trustguard.agent.clock", DISPATCH_QUEUE_SERIAL);
  if (queue == nullptr) {
    *error = "dispatch_queue_create failed";
    return nullptr;
  }
  // The watcher owns the queue from here on and releases it in Stop().
  std::unique_ptr<NotifyWatcher> watcher(new NotifyWatcher(queue, std::move(onChange)));
  if (!watcher->Register(error)) return nullptr;
  return watcher;
}

}  // namespace clock
}  // namespace tg
