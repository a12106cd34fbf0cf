// flock(2) is the same call on macOS and Linux.
#include "lock.h"

#include <errno.h>
#include <string.h>
#include <sys/file.h>

namespace tg {
namespace lock {

LockResult TryLockExclusive(int fd, std::string* error) {
  int rc;
  do {
    rc = flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return LockResult::kLocked;
  if (errno == EWOULDBLOCK) return LockResult::kHeldElsewhere;
  *error = strerror(errno);
  return LockResult::kError;
}

}  // namespace lock
}  // namespace tg
