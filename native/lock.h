// Process lock: an exclusive advisory lock on an open file (flock). The OS releases it when
// the process dies, however it dies, so a kill -9 never leaves a stale lock behind.
#pragma once

#include <string>

namespace tg {
namespace lock {

enum class LockResult { kLocked, kHeldElsewhere, kError };

// Non-blocking flock(fd, LOCK_EX | LOCK_NB). On kError, *error holds strerror text.
LockResult TryLockExclusive(int fd, std::string* error);

}  // namespace lock
}  // namespace tg
