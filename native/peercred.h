// Peer credentials of a connected Unix domain socket: who is on the other end, as the kernel
// recorded it when the peer connected (it cannot be forged by the peer). The control channel
// uses it to bound connections per user; what to do with a uid is decided in TypeScript.
#pragma once

#include <string>
#include <sys/types.h>

namespace tg {
namespace peercred {

struct Credentials {
  uid_t uid;
  gid_t gid;
  // The peer's pid when the OS records it (Linux SO_PEERCRED, macOS LOCAL_PEERPID); -1 otherwise.
  pid_t pid;
};

// Reads the credentials of the peer of the connected AF_UNIX socket `fd`. Returns false with
// strerror text in *error when the OS refuses (not a socket, not AF_UNIX, not connected).
bool Read(int fd, Credentials* out, std::string* error);

}  // namespace peercred
}  // namespace tg
