// Peer-credentials capability binding: peerCredentials(fd) → { uid, gid, pid } of the process
// on the other end of a connected Unix domain socket (pid null when the OS does not say).
// getsockopt does not block, so this is a plain synchronous call.
#include <napi.h>

#include <string>

#include "peercred.h"
#include "registry.h"

namespace {

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "peerCredentials expects a file descriptor");
  tg::peercred::Credentials cred;
  std::string error;
  if (!tg::peercred::Read(info[0].As<Napi::Number>().Int32Value(), &cred, &error)) throw Napi::Error::New(env, error);
  Napi::Object out = Napi::Object::New(env);
  out.Set("uid", Napi::Number::New(env, static_cast<double>(cred.uid)));
  out.Set("gid", Napi::Number::New(env, static_cast<double>(cred.gid)));
  out.Set("pid", cred.pid > 0 ? Napi::Value(Napi::Number::New(env, static_cast<double>(cred.pid))) : env.Null());
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New<tg::Guarded<PeerCredentials>>(env, "peerCredentials"));
}

}  // namespace

TG_NATIVE_CAPABILITY(peercred, Init);
