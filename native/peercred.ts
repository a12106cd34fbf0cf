// Peer-credentials capability (native/peercred.h): who is on the other end of a connected Unix
// domain socket, as the kernel recorded it at connect(2) (Linux SO_PEERCRED, macOS getpeereid).
// The peer cannot forge it, unlike anything it sends.
import net from 'node:net';
import { describe, native } from './addon.js';

export interface PeerCredentials {
  /** The peer's effective uid when it connected. */
  uid: number;
  /** The peer's effective gid when it connected. */
  gid: number;
  /**
   * The peer's pid; null when the OS does not say. For logs only: never decide anything on it.
   * Linux SO_PEERCRED: the process that connected. macOS LOCAL_PEERPID: the peer socket's most
   * recent user (xnu bsd/kern/uipc_usrreq.c answers with `last_pid`, which
   * bsd/kern/uipc_socket.c so_update_last_owner_locked moves to whoever last used the socket),
   * not necessarily the process that connected; it may also have been reused.
   */
  pid: number | null;
}

interface PeerCredAddon {
  peerCredentials(fd: number): PeerCredentials;
}

/** The file descriptor under a net.Socket (Node keeps it on the libuv handle); null when closed. */
function socketFd(socket: net.Socket): number | null {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : null;
}

/**
 * The credentials of the process at the other end of `socket`, a connected Unix domain socket
 * (a server's accepted connection or a client's). Throws TypeError for anything else, and an
 * Error when the socket is already closed or the OS refuses (e.g. a TCP socket).
 */
export function peerCredentials(socket: net.Socket, ...rest: unknown[]): PeerCredentials {
  if (!(socket instanceof net.Socket))
    throw new TypeError(`peerCredentials: expected a net.Socket, got ${describe(socket)}`);
  if (rest.length !== 0) throw new TypeError(`peerCredentials() takes one argument, got ${rest.length + 1}`);
  const fd = socketFd(socket);
  if (fd === null) throw new Error('peerCredentials: the socket has no file descriptor (closed, or not yet connected)');
  return native<PeerCredAddon>().peerCredentials(fd);
}

/** The same for a raw file descriptor of a connected Unix domain socket. */
export function peerCredentialsOfFd(fd: number, ...rest: unknown[]): PeerCredentials {
  if (!Number.isInteger(fd) || fd < 0)
    throw new TypeError(`peerCredentialsOfFd: fd must be a non-negative integer, got ${String(fd)}`);
  if (rest.length !== 0) throw new TypeError(`peerCredentialsOfFd() takes one argument, got ${rest.length + 1}`);
  return native<PeerCredAddon>().peerCredentials(fd);
}
