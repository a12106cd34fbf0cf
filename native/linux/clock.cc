// Linux clock capability: clock_gettime, adjtimex and a timerfd that the kernel cancels
// when CLOCK_REALTIME is set (TFD_TIMER_CANCEL_ON_SET).
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace tg {
namespace clock {

namespace {
double ReadMs(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string ErrnoText(const char* what) { return std::string(what) + ": " + strerror(errno); }

// Arms a far-future absolute timer: it never expires, its only job is to be cancelled
// when the realtime clock is set.
bool Arm(int tfd, std::string* error) {
  struct itimerspec spec;
  memset(&spec, 0, sizeof spec);
  spec.it_value.tv_sec = INT32_MAX;
  if (timerfd_settime(tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, nullptr) != 0) {
    *error = ErrnoText("timerfd_settime");
    return false;
  }
  return true;
}

class TimerfdWatcher : public ClockChangeWatcher {
 public:
  TimerfdWatcher(int tfd, int stopFd, std::function<void(const WatchEvent&)> onEvent)
      : tfd_(tfd), stopFd_(stopFd), onEvent_(std::move(onEvent)) {}
  ~TimerfdWatcher() override { Stop(); }

  // Separate from the constructor so that a failing std::thread (std::system_error) leaves an
  // object whose destructor still closes both descriptors.
  void Start() { thread_ = std::thread([this] { Run(); }); }

  // Must not run on the watcher's own thread (from inside the callback): it joins that thread.
  void Stop() override {
    if (stopped_.exchange(true)) return;
    uint64_t one = 1;
    ssize_t ignored = write(stopFd_, &one, sizeof one);
    (void)ignored;
    if (thread_.joinable()) thread_.join();
    close(tfd_);
    close(stopFd_);
  }

 private:
  void Run() {
    std::string failure = Watch();
    if (failure.empty()) return;  // stopped
    // The thread ends here: say so instead of going quiet (the drift check keeps covering).
    Deliver(WatchEvent::Kind::kWatcherFailed, failure);
  }

  // Returns "" when asked to stop, else what failed.
  std::string Watch() {
    struct pollfd fds[2] = {{tfd_, POLLIN, 0}, {stopFd_, POLLIN, 0}};
    for (;;) {
      int n = poll(fds, 2, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoText("poll");
      }
      if (fds[1].revents) return "";
      if (fds[0].revents & (POLLERR | POLLNVAL)) return "poll: timerfd error";
      if (fds[0].revents) {
        uint64_t expirations;
        ssize_t r = read(tfd_, &expirations, sizeof expirations);
        if (r < 0 && errno == ECANCELED) {
          std::string error;
          if (!Arm(tfd_, &error)) {
            Deliver(WatchEvent::Kind::kClockMayHaveBeenSet, "");
            return error;
          }
          Deliver(WatchEvent::Kind::kClockMayHaveBeenSet, "");
        } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
          return ErrnoText("read(timerfd)");
        }
      }
    }
  }

  void Deliver(WatchEvent::Kind kind, const std::string& error) {
    // An exception escaping a std::thread terminates the process; the callback must not
    // throw and building the event may (std::bad_alloc): drop the event then.
    try {
      WatchEvent event;
      event.kind = kind;
      event.error = error;
      onEvent_(event);
    } catch (...) {
    }
  }

  int tfd_;
  int stopFd_;
  std::function<void(const WatchEvent&)> onEvent_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};
}  // namespace

double WallClockMs() { return ReadMs(CLOCK_REALTIME); }

// CLOCK_BOOTTIME counts time spent in suspend; CLOCK_MONOTONIC does not (clock_gettime(2)).
double ContinuousClockMs() { return ReadMs(CLOCK_BOOTTIME); }

double MonotonicClockMs() { return ReadMs(CLOCK_MONOTONIC); }

bool ReadKernelTimeStatus(KernelTimeStatus* out, std::string* error) {
  struct timex tx;
  memset(&tx, 0, sizeof tx);  // modes = 0: read only
  int state = adjtimex(&tx);
  if (state < 0) {
    *error = ErrnoText("adjtimex");
    return false;
  }
  out->state = state;
  out->maxErrorUs = tx.maxerror;
  out->estErrorUs = tx.esterror;
  out->statusFlags = tx.status;
  out->offsetUs = (tx.status & STA_NANO) ? static_cast<double>(tx.offset) / 1000.0 : static_cast<double>(tx.offset);
  return true;
}

std::unique_ptr<ClockChangeWatcher> StartClockChangeWatcher(std::function<void(const WatchEvent&)> onEvent,
                                                            std::string* error) {
  int tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
  if (tfd < 0) {
    *error = ErrnoText("timerfd_create");
    return nullptr;
  }
  if (!Arm(tfd, error)) {
    close(tfd);
    return nullptr;
  }
  int stopFd = eventfd(0, EFD_CLOEXEC);
  if (stopFd < 0) {
    *error = ErrnoText("eventfd");
    close(tfd);
    return nullptr;
  }
  std::unique_ptr<TimerfdWatcher> watcher;
  try {
    watcher.reset(new TimerfdWatcher(tfd, stopFd, std::move(onEvent)));
  } catch (...) {
    close(tfd);
    close(stopFd);
    throw;
  }
  watcher->Start();  // may throw std::system_error; the watcher's destructor closes the fds
  return watcher;
}

}  // namespace clock
}  // namespace tg
