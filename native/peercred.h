// Peer credentials of a connected Unix domain socket: who is on the other end, as the kernel
// recorded it (it cannot be forged by the peer). Both ends work: a server sees the client's
// credentials at connect(), a client sees the server's at listen() (Linux unix(7); macOS xnu
// bsd/kern/uipc_usrreq.c, unp_connect). The control channel bounds connections per user with
// it, and agentctl checks that root serves the socket; what a uid means is decided in TypeScript.
// Only uid and gid are for decisions; the pid is not (see Credentials::pid).
#pragma once

#include <string>
#include <sys/types.h>

namespace tg {
namespace peercred {

struct Credentials {
  uid_t uid;
  gid_t gid;
  // The peer's pid when the OS records it; -1 otherwise. Advisory, for logs only: nothing may
  // be decided on it. Linux SO_PEERCRED: the process that called connect() (or listen()).
  // macOS LOCAL_PEERPID: the peer socket's *most recent user*, not the connecting process:
  // xnu answers with peerso->last_pid (bsd/kern/uipc_usrreq.c, uipc_ctloutput), which
  // so_update_last_owner_locked (bsd/kern/uipc_socket.c) moves to whichever process last used
  // the socket, e.g. a child that inherited the descriptor, and the pid may have been reused.
  pid_t pid;
};

// Reads the credentials of the peer of the connected AF_UNIX socket `fd`. Returns false with
// strerror text in *error when the OS refuses (not a socket, not AF_UNIX, not connected).
bool Read(int fd, Credentials* out, std::string* error);

}  // namespace peercred
}  // namespace tg
