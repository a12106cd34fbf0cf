// Log capability binding: osLog(subsystem, category, level, message), one write to the OS
// log. level is one of "debug", "info", "default", "error", "fault" (the mapping from
// winston levels is in agent/log).
#include <napi.h>

#include <string>

#include "log.h"
#include "registry.h"

namespace {

Napi::Value OsLog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString() || !info[3].IsString()) {
    throw Napi::TypeError::New(env, "osLog expects four strings");
  }
  std::string level = info[2].As<Napi::String>();
  tg::log::Level parsed;
  if (level == "debug") parsed = tg::log::Level::kDebug;
  else if (level == "info") parsed = tg::log::Level::kInfo;
  else if (level == "default") parsed = tg::log::Level::kDefault;
  else if (level == "error") parsed = tg::log::Level::kError;
  else if (level == "fault") parsed = tg::log::Level::kFault;
  else throw Napi::TypeError::New(env, "osLog: unknown level " + level);
  tg::log::Write(info[0].As<Napi::String>(), info[1].As<Napi::String>(), parsed, info[3].As<Napi::String>());
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("osLog", Napi::Function::New<tg::Guarded<OsLog>>(env, "osLog"));
}

}  // namespace

TG_NATIVE_CAPABILITY(log, Init);
