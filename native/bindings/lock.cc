// Lock capability binding: tryLockExclusive(fd) is true when this process now holds the
// lock, false when another does.
#include <napi.h>

#include <string>

#include "lock.h"
#include "registry.h"

namespace {

Napi::Value TryLockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "tryLockExclusive expects a file descriptor");
  std::string error;
  switch (tg::lock::TryLockExclusive(info[0].As<Napi::Number>().Int32Value(), &error)) {
    case tg::lock::LockResult::kLocked: return Napi::Boolean::New(env, true);
    case tg::lock::LockResult::kHeldElsewhere: return Napi::Boolean::New(env, false);
    case tg::lock::LockResult::kError: break;
  }
  throw Napi::Error::New(env, "flock: " + error);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("tryLockExclusive", Napi::Function::New<tg::Guarded<TryLockExclusive>>(env, "tryLockExclusive"));
}

}  // namespace

TG_NATIVE_CAPABILITY(lock, Init);
