// Log capability: write one message to the OS log. macOS: the unified log (os_log), so that
// `log show --predicate 'subsystem == "com.trustguard.agent"'` finds it; Linux: syslog(3).
// Which messages go there and at what level is decided in agent/log.
#pragma once

#include <string>

namespace tg {
namespace log {

// The OS log's own levels (os_log_type_t on macOS; syslog priorities on Linux).
enum class Level { kDebug, kInfo, kDefault, kError, kFault };

// Writes `message` to the OS log under subsystem/category. Never fails visibly: the OS log
// drops what it cannot take.
void Write(const std::string& subsystem, const std::string& category, Level level, const std::string& message);

}  // namespace log
}  // namespace tg
