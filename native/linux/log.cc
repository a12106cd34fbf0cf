// syslog(3) with the subsystem as ident and facility LOG_DAEMON. openlog keeps the ident
// pointer, so each ident string lives as long as the process: one per distinct subsystem,
// kept in a set and reused, so switching back and forth allocates nothing more; at most
// kMaxIdents of them (native/log.h).
#include "log.h"

#include <syslog.h>

#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

namespace tg {
namespace log {

namespace {

constexpr size_t kMaxIdents = 64;

std::mutex identMutex;
// Never destroyed (syslog may still read an ident at exit); std::set never moves its elements.
std::set<std::string>& Idents() {
  static auto* idents = new std::set<std::string>();
  return *idents;
}
const std::string* openIdent = nullptr;

int PriorityOf(Level level) {
  switch (level) {
    case Level::kDebug: return LOG_DEBUG;
    case Level::kInfo: return LOG_INFO;
    case Level::kDefault: return LOG_NOTICE;
    case Level::kError: return LOG_ERR;
    case Level::kFault: return LOG_CRIT;
  }
  return LOG_NOTICE;
}

}  // namespace

void Write(const std::string& subsystem, const std::string& category, Level level, const std::string& message) {
  std::lock_guard<std::mutex> lock(identMutex);
  if (openIdent == nullptr || *openIdent != subsystem) {
    if (Idents().count(subsystem) == 0 && Idents().size() >= kMaxIdents) {
      throw std::length_error("syslog: more than " + std::to_string(kMaxIdents) + " idents");
    }
    openIdent = &*Idents().insert(subsystem).first;
    openlog(openIdent->c_str(), LOG_PID, LOG_DAEMON);
  }
  syslog(LOG_DAEMON | PriorityOf(level), "[%s] %s", category.c_str(), message.c_str());
}

}  // namespace log
}  // namespace tg
