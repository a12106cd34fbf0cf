// Peer credentials of a connected Unix domain socket: who is on the other end, as the kernel
// recorded it (it cannot be forged by the peer). Both ends work: a server sees the client's
// credentials at connect(), a client sees the server's at listen() (Linux unix(7); macOS xnu
// bsd/kern/uipc_usrreq.c, unp_connect). The control channel bounds connections per user with
// it, and agentctl checks that root serves the socket; what a uid means is decided in TypeScript.
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
