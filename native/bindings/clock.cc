// Clock capability binding: wallClock, continuousClock, monotonicClock, kernelTimeStatus and
// ClockWatch, marshalled over native/clock.h.
//
// No C++ exception other than Napi::Error may leave an entry point (it would terminate the
// process): exported functions are wrapped in tg::Guarded; the ClockWatch constructor and
// methods, which Guarded cannot wrap, go through GuardCall; the init function, the thread-safe
// function's JS callback, the OS-thread callback, the destructor and the cleanup hook catch
// everything themselves.
#include <napi.h>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <utility>

#include "clock.h"
#include "registry.h"

namespace {

// Runs f; a C++ exception other than Napi::Error becomes a Napi::Error (which node-addon-api
// turns into a JS exception), like tg::Guarded does for plain functions.
template <typename F>
auto GuardCall(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("native error: ") + e.what());
  } catch (...) {
    throw Napi::Error::New(env, "native error");
  }
}

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

Napi::Value MonotonicClock(const Napi::CallbackInfo& info) {
  RequireNoArgs(info, "monotonicClock");
  return Napi::Number::New(info.Env(), tg::clock::MonotonicClockMs());
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
  out.Set("statusFlags", Napi::Number::New(env, status.statusFlags));
  out.Set("offsetUs", Napi::Number::New(env, status.offsetUs));
  return out;
}

// One event on its way from the watcher's thread to JS.
struct PendingEvent {
  tg::clock::WatchEvent::Kind kind;
  std::string error;
  double wallMs;
  double continuousMs;
};

// Shared by a ClockWatch and the callbacks it hands out: stop() sets `stopped` on the JS
// thread, and the JS-thread callback drops what was still queued in the thread-safe function
// (a normal release delivers the queue, an abort would leak its items).
struct WatchState {
  std::atomic<bool> stopped{false};
};

// A clock-change subscription. The OS watcher calls back on its own thread; the event
// reaches JS through a thread-safe function, which keeps the event loop alive until stop().
class ClockWatch : public Napi::ObjectWrap<ClockWatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ClockWatch", {InstanceMethod<&ClockWatch::Stop>("stop")});
  }

  explicit ClockWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClockWatch>(info) {
    GuardCall(info.Env(), [&] { Start(info); });
  }

  ~ClockWatch() override {
    try {
      {
        std::lock_guard<std::mutex> lock(liveMutex_);
        live_.erase(this);
      }
      StopWatching();
    } catch (...) {
      // A destructor must not throw; the OS watcher's own destructor still stops it.
    }
  }

  // At environment teardown (process exit, worker end) stop every OS thread still running.
  // Called from C: nothing may escape. Stops under liveMutex_ (no allocation needed); the OS
  // threads never take liveMutex_, so joining them here cannot deadlock.
  static void StopAll(void* env) {
    try {
      std::lock_guard<std::mutex> lock(liveMutex_);
      for (auto it = live_.begin(); it != live_.end();) {
        if ((*it)->env_ == env) {
          (*it)->StopWatching();
          it = live_.erase(it);
        } else {
          ++it;
        }
      }
    } catch (...) {
    }
  }

 private:
  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsFunction()) {
      throw Napi::TypeError::New(env, "ClockWatch expects one function argument");
    }
    env_ = env;
    {
      std::lock_guard<std::mutex> lock(liveMutex_);
      live_.insert(this);  // may throw std::bad_alloc: nothing to undo yet
    }
    try {
      auto state = std::make_shared<WatchState>();
      Napi::ThreadSafeFunction tsfn =
          Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "trustguard.clockChange", 0, 1);
      std::string error;
      std::unique_ptr<tg::clock::ClockChangeWatcher> watcher;
      try {
        watcher = tg::clock::StartClockChangeWatcher(
            [tsfn, state](const tg::clock::WatchEvent& e) mutable { Post(tsfn, state, e); }, &error);
      } catch (...) {
        tsfn.Release();
        throw;
      }
      if (!watcher) {
        tsfn.Release();
        throw Napi::Error::New(env, error);
      }
      // Nothing below throws.
      state_ = std::move(state);
      tsfn_ = tsfn;
      watcher_ = std::move(watcher);
    } catch (...) {
      // The destructor does not run for an object whose constructor threw.
      std::lock_guard<std::mutex> lock(liveMutex_);
      live_.erase(this);
      throw;
    }
  }

  // On the watcher's thread. The stamps are read here, when the watcher's handler runs: after
  // the clock was set (or the machine resumed), by the OS's delivery delay — not the moment it
  // happened. Never throws: an event that cannot be built or queued is dropped (the drift
  // check still covers steps).
  static void Post(Napi::ThreadSafeFunction& tsfn, const std::shared_ptr<WatchState>& state,
                   const tg::clock::WatchEvent& e) noexcept {
    if (state->stopped.load()) return;
    try {
      std::unique_ptr<PendingEvent> pending(
          new PendingEvent{e.kind, e.error, tg::clock::WallClockMs(), tg::clock::ContinuousClockMs()});
      napi_status s = tsfn.NonBlockingCall(pending.get(), [state](Napi::Env env, Napi::Function cb, PendingEvent* data) {
        std::unique_ptr<PendingEvent> owned(data);
        // On the JS thread, like stop(): once stop() has run, nothing queued reaches JS.
        if (state->stopped.load() || env == nullptr) return;
        Napi::Object event = Napi::Object::New(env);
        if (owned->kind == tg::clock::WatchEvent::Kind::kWatcherFailed) {
          event.Set("kind", "watch_failed");
          event.Set("error", owned->error);
        } else {
          event.Set("kind", "clock_set");
        }
        event.Set("wallMs", owned->wallMs);
        event.Set("continuousMs", owned->continuousMs);
        cb.Call({event});
      });
      // Queued: the JS-thread callback above owns it now. Otherwise (queue closing) it is freed.
      if (s == napi_ok) (void)pending.release();
    } catch (...) {
    }
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    return GuardCall(info.Env(), [&] {
      StopWatching();
      return info.Env().Undefined();
    });
  }

  void StopWatching() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!watcher_) return;
    state_->stopped.store(true);  // before anything else: queued events are now dropped
    watcher_->Stop();             // joins the OS thread: no call into the TSFN after this
    watcher_.reset();
    tsfn_.Release();
  }

  static std::mutex liveMutex_;
  static std::set<ClockWatch*> live_;

  napi_env env_ = nullptr;
  std::mutex mutex_;
  std::shared_ptr<WatchState> state_;
  std::unique_ptr<tg::clock::ClockChangeWatcher> watcher_;
  Napi::ThreadSafeFunction tsfn_;
};

std::mutex ClockWatch::liveMutex_;
std::set<ClockWatch*> ClockWatch::live_;

void Init(Napi::Env env, Napi::Object exports) {
  // Called from the addon's init (native/addon.cc): an exception other than Napi::Error
  // would terminate the process while it loads the addon.
  GuardCall(env, [&] {
    exports.Set("wallClock", Napi::Function::New<tg::Guarded<WallClock>>(env, "wallClock"));
    exports.Set("continuousClock", Napi::Function::New<tg::Guarded<ContinuousClock>>(env, "continuousClock"));
    exports.Set("monotonicClock", Napi::Function::New<tg::Guarded<MonotonicClock>>(env, "monotonicClock"));
    exports.Set("kernelTimeStatus", Napi::Function::New<tg::Guarded<KernelTimeStatus>>(env, "kernelTimeStatus"));
    exports.Set("ClockWatch", ClockWatch::Define(env));
    napi_add_env_cleanup_hook(env, ClockWatch::StopAll, static_cast<napi_env>(env));
  });
}

}  // namespace

TG_NATIVE_CAPABILITY(clock, Init);
