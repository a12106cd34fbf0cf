// The addon's entry point: calls the init function of every native capability that
// registered itself (native/registry.h). Capabilities live in native/bindings/<name>.cc
// (marshalling, platform-neutral) over native/<name>.h, implemented by native/darwin/<name>.cc
// and native/linux/<name>.cc. No policy here or there.
#include <napi.h>

#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "registry.h"

namespace tg {
namespace {

std::vector<std::pair<const char*, CapabilityInit>>& Registered() {
  // A function-local static: registrations from other translation units may run first.
  static std::vector<std::pair<const char*, CapabilityInit>> registered;
  return registered;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Array names = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& [name, init] : Registered()) {
    // The module's entry point: node-addon-api turns only Napi::Error into a JS exception, so
    // anything else a capability's init throws is converted here instead of aborting the load.
    try {
      init(env, exports);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw Napi::Error::New(env, std::string("out of memory initialising ") + name);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("native error initialising ") + name + ": " + e.what());
    } catch (...) {
      throw Napi::Error::New(env, std::string("native error initialising ") + name);
    }
    names.Set(i++, Napi::String::New(env, name));
  }
  exports.Set("capabilities", names);
  return exports;
}

}  // namespace

CapabilityRegistration::CapabilityRegistration(const char* name, CapabilityInit init) {
  Registered().emplace_back(name, init);
}

}  // namespace tg

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return tg::Init(env, exports); }

NODE_API_MODULE(trustguard, InitAddon)
