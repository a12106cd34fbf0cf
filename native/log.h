// Log capability: write one message to the OS log. macOS: the unified log (os_log), so that
// `log show --predicate 'subsystem == "com.trustguard.agent"'` finds it; Linux: syslog(3).
// Which messages go there and at what level is decided in agent/log.
#pragma once

#include <string>

namespace tg {
namespace log {

// The OS log's own levels (os_log_type_t on macOS; syslog priorities on Linux).
enum class Level { kDebug, kInfo, kDefault, kError, kFault };

// Writes `message` to the OS log under subsystem/category. The OS log drops what it cannot
// take. Throws std::length_error for a 65th distinct subsystem/category pair (macOS: one
// os_log_t is kept per pair for the life of the process, os_log_create's strings must stay
// valid, xnu libkern/os/log.h) or a 65th distinct subsystem (Linux: openlog keeps the ident
// pointer); agent/log/os-log.ts allows only the agent's own subsystem and a few categories.
void Write(const std::string& subsystem, const std::string& category, Level level, const std::string& message);

}  // namespace log
}  // namespace tg
