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
  TimerfdWatcher(int tfd, int stopFd, std::function<void()> onChange)
      : tfd_(tfd), stopFd_(stopFd), onChange_(std::move(onChange)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~TimerfdWatcher() override { Stop(); }

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
    struct pollfd fds[2] = {{tfd_, POLLIN, 0}, {stopFd_, POLLIN, 0}};
    for (;;) {
      int n = poll(fds, 2, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      if (fds[0].revents) {
        uint64_t expirations;
        ssize_t r = read(tfd_, &expirations, sizeof expirations);
        if (r < 0 && errno == ECANCELED) {
          std::string ignored;
          if (!Arm(tfd_, &ignored)) return;
          onChange_();
        }
      }
    }
  }

  int tfd_;
  int stopFd_;
  std::function<void()> onChange_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};
}  // namespace

double WallClockMs() { return ReadMs(CLOCK_REALTIME); }

double ContinuousClockMs() { return ReadMs(CLOCK_BOOTTIME); }

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
  out->hasStatusFlags = true;
  out->statusFlags = tx.status;
  out->hasOffset = true;
  out->offsetUs = (tx.status & STA_NANO) ? static_cast<double>(tx.offset) / 1000.0
                                         : static_cast<double>(tx.offset);
  return true;
}

std::unique_ptr<ClockChangeWatcher> StartClockChangeWatcher(std::function<void()> onChange,
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
  return std::unique_ptr<ClockChangeWatcher>(new TimerfdWatcher(tfd, stopFd, std::move(onChange)));
}

}  // namespace clock
}  // namespace tg
