// The unified log through os_log (C API). One os_log_t per subsystem/category, created once:
// os_log_create returns an object meant to be kept for the life of the process.
#include "log.h"

#include <os/log.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace tg {
namespace log {

namespace {

std::mutex handlesMutex;
std::map<std::pair<std::string, std::string>, os_log_t>& Handles() {
  static auto* handles = new std::map<std::pair<std::string, std::string>, os_log_t>();
  return *handles;
}

os_log_t HandleFor(const std::string& subsystem, const std::string& category) {
  std::lock_guard<std::mutex> lock(handlesMutex);
  auto key = std::make_pair(subsystem, category);
  auto found = Handles().find(key);
  if (found != Handles().end()) return found->second;
  os_log_t handle = os_log_create(subsystem.c_str(), category.c_str());
  Handles().emplace(key, handle);
  return handle;
}

os_log_type_t TypeOf(Level level) {
  switch (level) {
    case Level::kDebug: return OS_LOG_TYPE_DEBUG;
    case Level::kInfo: return OS_LOG_TYPE_INFO;
    case Level::kDefault: return OS_LOG_TYPE_DEFAULT;
    case Level::kError: return OS_LOG_TYPE_ERROR;
    case Level::kFault: return OS_LOG_TYPE_FAULT;
  }
  return OS_LOG_TYPE_DEFAULT;
}

}  // namespace

void Write(const std::string& subsystem, const std::string& category, Level level, const std::string& message) {
  // %{public}s: our messages carry no secrets (agent/log redacts them) and must be readable
  // in `log show` without a profile that unmasks private data.
  os_log_with_type(HandleFor(subsystem, category), TypeOf(level), "%{public}s", message.c_str());
}

}  // namespace log
}  // namespace tg
