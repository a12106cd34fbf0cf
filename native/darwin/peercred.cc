// macOS: getpeereid(3) returns the effective uid and gid the peer had when it connected
// (Libc gen/FreeBSD/getpeereid.c reads them with getsockopt(LOCAL_PEERCRED)); the pid comes
// from getsockopt(SOL_LOCAL, LOCAL_PEERPID) (xnu bsd/sys/un.h, bsd/kern/uipc_usrreq.c), which is
// the peer socket's last_pid: its most recent user, not necessarily the process that
// connected (bsd/kern/uipc_socket.c so_update_last_owner_locked). Advisory only (peercred.h).
#include "peercred.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

namespace tg {
namespace peercred {

bool Read(int fd, Credentials* out, std::string* error) {
  uid_t uid;
  gid_t gid;
  if (getpeereid(fd, &uid, &gid) != 0) {
    *error = std::string("getpeereid: ") + strerror(errno);
    return false;
  }
  out->uid = uid;
  out->gid = gid;
  out->pid = -1;
  pid_t pid = 0;
  socklen_t length = sizeof(pid);
  // Advisory: a failure here leaves the pid unknown, the uid and gid stand.
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &length) == 0 && length == sizeof(pid) && pid > 0) out->pid = pid;
  return true;
}

}  // namespace peercred
}  // namespace tg
