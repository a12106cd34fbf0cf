// How a native capability joins the addon without editing a shared file: its binding file
// (native/bindings/<capability>.cc) defines an init function that sets its exports, and
// registers it with TG_NATIVE_CAPABILITY. addon.cc calls every registered function once per
// environment. Registration runs in static initialisers when the addon is loaded.
#pragma once

#include <napi.h>

#include <exception>
#include <new>
#include <string>

namespace tg {

using CapabilityInit = void (*)(Napi::Env env, Napi::Object exports);

struct CapabilityRegistration {
  CapabilityRegistration(const char* name, CapabilityInit init);
};

// Wraps a native entry point so that a C++ exception other than Napi::Error (std::bad_alloc,
// std::system_error from std::thread) becomes a JS exception instead of terminating the
// process. Use it for every function a binding exports: Napi::Function::New<tg::Guarded<F>>.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("native error: ") + e.what());
  } catch (...) {
    throw Napi::Error::New(info.Env(), "native error");
  }
}

}  // namespace tg

#define TG_NATIVE_CAPABILITY(name, init) \
  static const ::tg::CapabilityRegistration tg_capability_registration_##name(#name, init)
