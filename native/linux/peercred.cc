// Linux: getsockopt(SO_PEERCRED) returns the uid, gid and pid the peer had when it called
// connect(2) (socket(7), unix(7)).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // struct ucred
#endif
#include "peercred.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

namespace tg {
namespace peercred {

bool Read(int fd, Credentials* out, std::string* error) {
  struct ucred cred;
  socklen_t length = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    *error = std::string("getsockopt(SO_PEERCRED): ") + strerror(errno);
    return false;
  }
  if (length != sizeof(cred)) {
    *error = "getsockopt(SO_PEERCRED): short answer";
    return false;
  }
  out->uid = cred.uid;
  out->gid = cred.gid;
  out->pid = cred.pid > 0 ? cred.pid : -1;
  return true;
}

}  // namespace peercred
}  // namespace tg
