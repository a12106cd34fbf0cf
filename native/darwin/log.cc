// The unified log through os_log (C API). One os_log_t per subsystem/category, created once:
// os_log_create returns an object meant to be kept for the life of the process, and its two
// strings "must be a constant string, not dynamically generated" (xnu libkern/os/log.h,
// os_log_create). So each pair is copied once into a table that is never freed (std::map
// nodes never move, so the c_str() handed to os_log_create stays valid for the process), and
// the table holds at most kMaxHandles pairs. Which subsystems and categories the agent may
// use is decided in agent/log; this bound only keeps a caller from growing the table forever.
#include "log.h"

#include <os/log.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace tg {
namespace log {

namespace {

constexpr size_t kMaxHandles = 64;

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
  if (Handles().size() >= kMaxHandles) {
    throw std::length_error("os_log: more than " + std::to_string(kMaxHandles) + " subsystem/category pairs");
  }
  auto inserted = Handles().emplace(std::move(key), nullptr).first;
  // The strings of the table's own key: they live as long as the process.
  inserted->second = os_log_create(inserted->first.first.c_str(), inserted->first.second.c_str());
  return inserted->second;
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
