// Sends one request to the daemon and reads one response. Loads only node:net and node:fs (and,
// for the admin socket, the small peer-credentials binding): agentctl status runs through here
// and must start fast.
//
// Before anything is sent, the socket must be the daemon's: the socket file is a socket owned by
// root (or by this user, for a development daemon it runs itself). On the admin socket, where
// root sends what changes the daemon, the process that accepted the connection must also run as
// root (or this user), as the kernel reports it (peer credentials): no window between the check
// and the connect. An impostor that replaced a socket learns nothing, and root's `agentctl
// reload` never talks to it. (The read-only socket skips the peer check unless asked: loading
// the addon costs `agentctl status` a few milliseconds, and what status sends is no secret.)
import { lstatSync } from 'node:fs';
import net from 'node:net';
import { peerCredentials } from '../../native/peercred.js';
import { maxResponseBytes, type ControlResponse } from './protocol.js';

/** The daemon could not be reached at all (no socket, nobody listening, no permission). */
export class DaemonUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly code: string,
  ) {
    super(`cannot connect to ${socketPath} (${code})`);
    this.name = 'DaemonUnreachableError';
  }
}

/** The daemon refused the connection for now (too many connections), or dropped it unanswered. */
export class DaemonBusyError extends Error {
  constructor(readonly socketPath: string) {
    super(`the TrustGuard daemon is busy (too many connections on ${socketPath}); try again in a moment`);
    this.name = 'DaemonBusyError';
  }
}

/** The socket, or the process behind it, is not root's: not the daemon. Nothing was sent. */
export class UntrustedSocketError extends Error {
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(
      `refusing to talk to ${socketPath}: ${reason}; it is not the TrustGuard daemon (ask an administrator to check that path)`,
    );
    this.name = 'UntrustedSocketError';
  }
}

function trustedUid(uid: number): boolean {
  return uid === 0 || uid === process.geteuid?.();
}

/** Checks the socket file itself; returns null when it is fine, or when it is absent (connect says so). */
function checkSocketFile(socketPath: string): string | null {
  let info;
  try {
    info = lstatSync(socketPath);
  } catch {
    return null;
  }
  if (info.isSymbolicLink()) return 'it is a symbolic link';
  if (!info.isSocket()) return 'it is not a socket';
  if (!trustedUid(info.uid)) return `it belongs to uid ${info.uid}, not root`;
  return null;
}

export interface RequestOptions {
  /** Check the serving process's uid (peer credentials). Default: on the admin socket (`….admin`). */
  verifyPeer?: boolean;
}

export function request(
  socketPath: string,
  name: string,
  args: Record<string, unknown> = {},
  timeoutMs = 5000,
  options: RequestOptions = {},
): Promise<ControlResponse> {
  const verifyPeer = options.verifyPeer ?? socketPath.endsWith('.admin');
  return new Promise((resolve, reject) => {
    const problem = checkSocketFile(socketPath);
    if (problem) {
      reject(new UntrustedSocketError(socketPath, problem));
      return;
    }
    const socket = net.createConnection(socketPath);
    let connected = false;
    let settled = false;
    let buffer = '';
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(error);
    };
    const answer = (): boolean => {
      const end = buffer.indexOf('\n');
      if (end < 0 || settled) return false;
      settled = true;
      socket.destroy();
      let response: ControlResponse;
      try {
        response = JSON.parse(buffer.slice(0, end)) as ControlResponse;
      } catch {
        reject(new Error(`the daemon at ${socketPath} sent a response that is not JSON`));
        return true;
      }
      if (!response.ok && response.error?.code === 'busy') reject(new DaemonBusyError(socketPath));
      else resolve(response);
      return true;
    };
    // The deadline starts once the request is written: a Unix socket's connect(2) succeeds or
    // fails at once (the listener's backlog takes it, or refuses), so nothing can wait before
    // 'connect'; and arming a socket's first timer costs `agentctl status` about 1.5 ms that,
    // after the write, passes while the daemon answers.
    // Reading is set up after the write, too: the stream's first read (a string decoder, the
    // switch to flowing mode) costs about 1 ms, which also passes while the daemon answers. Until
    // then the answer waits in the stream's buffer.
    const send = () => {
      socket.write(`${JSON.stringify({ request: name, args })}\n`);
      socket.setTimeout(timeoutMs, () =>
        fail(new Error(`the daemon at ${socketPath} did not answer within ${timeoutMs} ms`)),
      );
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        if (answer()) return;
        // The daemon's answers are at most maxResponseBytes (agent/control/protocol.ts).
        if (buffer.length > maxResponseBytes)
          fail(
            new Error(`the daemon at ${socketPath} sent more than ${maxResponseBytes} bytes without ending its answer`),
          );
      });
    };
    socket.on('connect', () => {
      connected = true;
      if (!verifyPeer) {
        send();
        return;
      }
      let peerUid: number;
      try {
        peerUid = peerCredentials(socket).uid;
      } catch (error) {
        fail(
          new UntrustedSocketError(socketPath, `the peer's credentials cannot be read (${(error as Error).message})`),
        );
        return;
      }
      if (!trustedUid(peerUid)) {
        fail(new UntrustedSocketError(socketPath, `the process serving it runs as uid ${peerUid}, not root`));
        return;
      }
      send();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) fail(new DaemonUnreachableError(socketPath, error.code ?? error.message));
      else if (answer()) return;
      // The daemon hung up before answering: its connection limit, or it is stopping.
      else if (error.code === 'EPIPE' || error.code === 'ECONNRESET') fail(new DaemonBusyError(socketPath));
      else fail(error);
    });
    socket.on('end', () => {
      if (!answer()) fail(new Error(`the daemon at ${socketPath} closed the connection without answering`));
    });
  });
}
