// Clock capability binding: wallClock, continuousClock, kernelTimeStatus and ClockWatch,
// marshalled over native/clock.h.
#include <napi.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "clock.h"
#include "registry.h"

namespace {

void RequireNoArgs(const Napi::CallbackInfo& info, const char* name) {
  if (info.Length() != 0) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " takes no arguments");
  }
}

Napi::Value WallClock(const Napi::CallbackInfo& info) {
  RequireNoArgs(info, "wallClock");
  return Napi::Number::New(info.Env(), tg::clock::WallClockMs());
}

Napi::Value ContinuousClock(const Napi::CallbackInfo& info) {
  RequireNoArgs(info, "continuousClock");
  return Napi::Number::New(info.Env(), tg::clock::ContinuousClockMs());
}

Napi::Value KernelTimeStatus(const Napi::CallbackInfo& info) {
  RequireNoArgs(info, "kernelTimeStatus");
  Napi::Env env = info.Env();
  tg::clock::KernelTimeStatus status;
  std::string error;
  if (!tg::clock::ReadKernelTimeStatus(&status, &error)) throw Napi::Error::New(env, error);
  Napi::Object out = Napi::Object::New(env);
  out.Set("state", status.state);
  out.Set("maxErrorUs", Napi::Number::New(env, static_cast<double>(status.maxErrorUs)));
  out.Set("estErrorUs", Napi::Number::New(env, static_cast<double>(status.estErrorUs)));
  out.Set("statusFlags", status.hasStatusFlags ? Napi::Value(Napi::Number::New(env, status.statusFlags))
                                               : env.Null());
  out.Set("offsetUs", status.hasOffset ? Napi::Value(Napi::Number::New(env, status.offsetUs)) : env.Null());
  return out;
}

// A clock-change subscription. The OS watcher calls back on its own thread; the event
// reaches JS through a thread-safe function, which keeps the event loop alive until stop().
class ClockWatch : public Napi::ObjectWrap<ClockWatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ClockWatch", {InstanceMethod<&ClockWatch::Stop>("stop")});
  }

  explicit ClockWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClockWatch>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsFunction()) {
      throw Napi::TypeError::New(env, "ClockWatch expects one function argument");
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "trustguard.clockChange", 0, 1);
    std::string error;
    Napi::ThreadSafeFunction tsfn = tsfn_;
    watcher_ = tg::clock::StartClockChangeWatcher(
        [tsfn]() mutable {
          // Timestamps are taken on the OS thread, when the event happened.
          auto* stamp = new double[2]{tg::clock::WallClockMs(), tg::clock::ContinuousClockMs()};
          napi_status s = tsfn.NonBlockingCall(stamp, [](Napi::Env env, Napi::Function cb, double* data) {
            Napi::Object event = Napi::Object::New(env);
            event.Set("kind", "clock_set");
            event.Set("wallMs", data[0]);
            event.Set("continuousMs", data[1]);
            delete[] data;
            cb.Call({event});
          });
          if (s != napi_ok) delete[] stamp;
        },
        &error);
    if (!watcher_) {
      tsfn_.Release();
      throw Napi::Error::New(env, error);
    }
    env_ = env;
    std::lock_guard<std::mutex> lock(liveMutex_);
    live_.insert(this);
  }

  ~ClockWatch() override {
    {
      std::lock_guard<std::mutex> lock(liveMutex_);
      live_.erase(this);
    }
    StopWatching();
  }

  // At environment teardown (process exit, worker end) stop every OS thread still running.
  static void StopAll(void* env) {
    std::set<ClockWatch*> mine;
    {
      std::lock_guard<std::mutex> lock(liveMutex_);
      for (auto it = live_.begin(); it != live_.end();) {
        if ((*it)->env_ == env) {
          mine.insert(*it);
          it = live_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (ClockWatch* w : mine) w->StopWatching();
  }

 private:
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopWatching();
    return info.Env().Undefined();
  }

  void StopWatching() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!watcher_) return;
    watcher_->Stop();  // joins the OS thread: no call into the TSFN after this
    watcher_.reset();
    tsfn_.Release();
  }

  static std::mutex liveMutex_;
  static std::set<ClockWatch*> live_;

  napi_env env_ = nullptr;
  std::mutex mutex_;
  std::unique_ptr<tg::clock::ClockChangeWatcher> watcher_;
  Napi::ThreadSafeFunction tsfn_;
};

std::mutex ClockWatch::liveMutex_;
std::set<ClockWatch*> ClockWatch::live_;

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("wallClock", Napi::Function::New<tg::Guarded<WallClock>>(env, "wallClock"));
  exports.Set("continuousClock", Napi::Function::New<tg::Guarded<ContinuousClock>>(env, "continuousClock"));
  exports.Set("kernelTimeStatus", Napi::Function::New<tg::Guarded<KernelTimeStatus>>(env, "kernelTimeStatus"));
  exports.Set("ClockWatch", ClockWatch::Define(env));
  napi_add_env_cleanup_hook(env, ClockWatch::StopAll, static_cast<napi_env>(env));
}

}  // namespace

TG_NATIVE_CAPABILITY(clock, Init);
