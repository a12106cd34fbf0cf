// The control channel's server side. Privilege is enforced by the OS through file modes:
//   <ControlSocketPath>        mode 0666  read-only requests, from any local user
//   <ControlSocketPath>.admin  mode 0600  every request; only the daemon's owner (root) can connect
// A mutating request on the read-only socket is refused with "forbidden". Capabilities add
// their requests with handle(); the server knows none of them.
//
// Hardening (docs/security.md):
//  - the sockets' directory must be trusted (agent/fs-safety.ts: root's, nobody else can write
//    it or an ancestor); each socket gets its mode from the umask at bind time, so no path is
//    ever chmod'ed after listen (a chmod on a path can be raced onto another file);
//  - a socket that still answers belongs to a live daemon and is never replaced;
//  - one request per connection, bounded in size, time and answer size; connections per user
//    are counted from the kernel's peer credentials (native/peercred.ts), so one user cannot
//    exhaust the daemon or silence `status` for the others.
import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { peerCredentials } from '../../native/peercred.js';
import { adminSocketPath } from '../config/defaults.js';
import { ensureDirectory, UnsafePathError } from '../fs-safety.js';
import type { Logger } from '../log/logger.js';
import {
  connectionsPerUser,
  errorResponse,
  handlerDeadlineMs,
  isResponse,
  maxRequestBytes,
  maxResponseBytes,
  parseRequest,
  requestDeadlineMs,
  writeDeadlineMs,
  type ControlResponse,
} from './protocol.js';

export interface RequestContext {
  /** True on the admin socket (the caller could open a root-only socket). */
  privileged: boolean;
  /** The caller's uid from the kernel (null if the OS would not say). */
  uid: number | null;
  /** Aborted when the handler's deadline passes or the daemon stops. */
  signal: AbortSignal;
}

export type RequestHandler = (args: Record<string, unknown>, context: RequestContext) => unknown;

export interface HandlerOptions {
  mutating: boolean;
  /**
   * How long the handler may take before the caller gets "timeout" (default handlerDeadlineMs);
   * a function is asked at each request (a deadline that follows the configuration).
   */
  timeoutMs?: number | (() => number);
}

interface Registration {
  handler: RequestHandler;
  mutating: boolean;
  timeoutMs: () => number;
}

export interface ControlServerOptions {
  socketPath: string;
  logger: Logger;
  maxRequestBytes?: number;
  /** Absolute deadline from accept to a complete request. */
  requestDeadlineMs?: number;
  maxResponseBytes?: number;
  writeDeadlineMs?: number;
  /** Simultaneous connections per uid (both sockets together). */
  connectionsPerUser?: number;
  /** Simultaneous connections in all (a backstop beyond the per-user limit). */
  maxConnections?: number;
}

/** The socket's directory is unsafe: someone else could replace the sockets. */
export class UnsafeSocketDirectoryError extends Error {
  readonly code = 'unsafe_socket_directory';
}

/** Another process answers on the socket path: a live daemon, whose socket is not ours to remove. */
export class SocketInUseError extends Error {
  readonly code = 'socket_in_use';
}

export class ControlServer {
  readonly socketPath: string;
  readonly adminSocketPath: string;
  private readonly handlers = new Map<string, Registration>();
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<net.Socket>();
  private readonly perUser = new Map<number, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stopController = new AbortController();
  private stopping = false;
  private readonly limits: Required<Omit<ControlServerOptions, 'socketPath' | 'logger'>>;
  private refusedBusy = 0;

  constructor(private readonly options: ControlServerOptions) {
    this.socketPath = options.socketPath;
    this.adminSocketPath = adminSocketPath(options.socketPath);
    this.limits = {
      maxRequestBytes: options.maxRequestBytes ?? maxRequestBytes,
      requestDeadlineMs: options.requestDeadlineMs ?? requestDeadlineMs,
      maxResponseBytes: options.maxResponseBytes ?? maxResponseBytes,
      writeDeadlineMs: options.writeDeadlineMs ?? writeDeadlineMs,
      connectionsPerUser: options.connectionsPerUser ?? connectionsPerUser,
      maxConnections: options.maxConnections ?? 256,
    };
  }

  /** Registers a request. `mutating` requests are answered only on the admin socket. */
  handle(name: string, handler: RequestHandler, options: HandlerOptions): void {
    if (this.handlers.has(name)) throw new Error(`control request "${name}" is already registered`);
    const given = options.timeoutMs ?? handlerDeadlineMs;
    const valid = (ms: number) => Number.isFinite(ms) && ms > 0;
    if (typeof given === 'number' && !valid(given)) {
      throw new RangeError(`control request "${name}": timeoutMs must be positive`);
    }
    // A function's answer that is not a positive number falls back to the default deadline.
    const timeoutMs =
      typeof given === 'number'
        ? () => given
        : () => {
            const ms = given();
            return valid(ms) ? ms : handlerDeadlineMs;
          };
    this.handlers.set(name, { handler, mutating: options.mutating, timeoutMs });
  }

  requests(): Array<{ name: string; mutating: boolean }> {
    return [...this.handlers].map(([name, r]) => ({ name, mutating: r.mutating }));
  }

  /** Connection counts, for the daemon's status: open now, and refused as busy since start. */
  load(): { open: number; refused_busy: number; per_user_limit: number } {
    return {
      open: this.connections.size,
      refused_busy: this.refusedBusy,
      per_user_limit: this.limits.connectionsPerUser,
    };
  }

  async start(): Promise<void> {
    prepareSocketDirectory(path.dirname(this.socketPath));
    await this.listen(this.socketPath, 0o666, false);
    await this.listen(this.adminSocketPath, 0o600, true);
  }

  /** Stops accepting, lets in-flight requests answer (up to capMs), closes every connection, removes the sockets. */
  async stop(capMs = 2000): Promise<void> {
    this.stopping = true;
    const closed = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    await Promise.race([Promise.allSettled([...this.inFlight]), delay(capMs)]);
    this.stopController.abort();
    for (const socket of this.connections) socket.destroy();
    await Promise.all(closed);
    for (const file of [this.socketPath, this.adminSocketPath]) await unlink(file).catch(() => {});
  }

  private async listen(file: string, mode: number, privileged: boolean): Promise<void> {
    await removeStaleSocket(file);
    // allowHalfOpen: a client may shut down its side after the request and still read the answer.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
      this.serve(socket, privileged),
    );
    server.maxConnections = this.limits.maxConnections;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // bind(2) creates the socket file with mode 0777 & ~umask, and Node binds synchronously
      // inside listen(): the umask set here is the socket's mode from its first instant.
      const saved = process.umask(0o777 & ~mode);
      try {
        server.listen(file, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(saved);
      }
    });
    server.on('error', (error) =>
      this.options.logger.error('control socket error', { socket: file, error: error.message }),
    );
    this.servers.push(server);
  }

  private serve(socket: net.Socket, privileged: boolean): void {
    let uid: number | null = null;
    try {
      uid = peerCredentials(socket).uid;
    } catch {
      // Unknown peers share one budget.
    }
    const key = uid ?? -1;
    const count = this.perUser.get(key) ?? 0;
    socket.on('error', () => socket.destroy());
    if (count >= this.limits.connectionsPerUser || this.stopping) {
      this.refusedBusy += this.stopping ? 0 : 1;
      const response = this.stopping
        ? errorResponse('shutting_down', 'the daemon is shutting down')
        : errorResponse(
            'busy',
            `the daemon is busy: uid ${key} already has ${count} open connections (limit ${this.limits.connectionsPerUser})`,
          );
      socket.end(`${JSON.stringify(response)}\n`);
      socket.destroySoon();
      // Whatever the client does, the socket is gone within the write deadline.
      setTimeout(() => socket.destroy(), this.limits.writeDeadlineMs).unref();
      return;
    }
    this.perUser.set(key, count + 1);
    this.connections.add(socket);
    socket.once('close', () => {
      this.connections.delete(socket);
      const left = (this.perUser.get(key) ?? 1) - 1;
      if (left <= 0) this.perUser.delete(key);
      else this.perUser.set(key, left);
    });

    let answered = false;
    let complete = false;
    const finish = (response: ControlResponse) => {
      if (answered) return;
      answered = true;
      clearTimeout(deadline);
      socket.pause();
      socket.removeAllListeners('data');
      this.reply(socket, response);
    };
    // Absolute: from accept to a complete request, however the bytes trickle in.
    const deadline = setTimeout(
      () => finish(errorResponse('bad_request', `no complete request within ${this.limits.requestDeadlineMs} ms`)),
      this.limits.requestDeadlineMs,
    );
    deadline.unref();

    const chunks: Buffer[] = [];
    let size = 0;
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      const end = chunk.indexOf(0x0a);
      const take = end < 0 ? chunk : chunk.subarray(0, end);
      size += take.length;
      if (size > this.limits.maxRequestBytes) {
        finish(errorResponse('too_large', `requests are limited to ${this.limits.maxRequestBytes} bytes`));
        return;
      }
      chunks.push(take);
      if (end < 0) return;
      // One request per connection: stop reading here; anything pipelined after it stays in
      // the kernel's buffer (and the client's, which then blocks) and is discarded at close.
      complete = true;
      clearTimeout(deadline);
      socket.pause();
      socket.removeAllListeners('data');
      const line = Buffer.concat(chunks).toString('utf8');
      if (line.trim() === '') {
        finish(errorResponse('bad_request', 'empty request'));
        return;
      }
      const work = this.answer(line, privileged, uid);
      this.inFlight.add(work);
      void work.then((response) => {
        this.inFlight.delete(work);
        finish(response);
      });
    });
    socket.on('end', () => {
      if (!complete) finish(errorResponse('bad_request', 'incomplete request: the connection ended before a newline'));
    });
    socket.resume();
  }

  private async answer(line: string, privileged: boolean, uid: number | null): Promise<ControlResponse> {
    const parsed = parseRequest(line);
    if (isResponse(parsed)) return parsed;
    if (this.stopping) return errorResponse('shutting_down', 'the daemon is shutting down');
    const registration = this.handlers.get(parsed.request);
    if (!registration) {
      return errorResponse(
        'unknown_request',
        `unknown request "${parsed.request}"; known: ${[...this.handlers.keys()].join(', ')}`,
      );
    }
    if (registration.mutating && !privileged) {
      return errorResponse(
        'forbidden',
        `"${parsed.request}" changes the daemon and is accepted only on the root-only socket ${this.adminSocketPath} (run agentctl with sudo)`,
      );
    }
    // The handler's own deadline, independent of the request deadline (which has passed its use).
    const controller = new AbortController();
    const onStop = () => controller.abort();
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const deadlineMs = registration.timeoutMs();
    const timedOut = new Promise<ControlResponse>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve(errorResponse('timeout', `"${parsed.request}" did not finish within ${deadlineMs} ms`));
      }, deadlineMs);
    });
    const run = (async (): Promise<ControlResponse> => {
      try {
        return {
          ok: true,
          result:
            (await registration.handler(parsed.args ?? {}, { privileged, uid, signal: controller.signal })) ?? null,
        };
      } catch (error) {
        return errorResponse('failed', error instanceof Error ? error.message : String(error));
      }
    })();
    try {
      return await Promise.race([run, timedOut]);
    } finally {
      clearTimeout(timer);
      this.stopController.signal.removeEventListener('abort', onStop);
    }
  }

  /** Writes the one answer and closes; a client that does not read it within the write deadline is cut off. */
  private reply(socket: net.Socket, response: ControlResponse): void {
    if (socket.destroyed) return;
    let text: string;
    try {
      text = `${JSON.stringify(response)}\n`;
    } catch (error) {
      text = `${JSON.stringify(errorResponse('failed', `the answer could not be serialized: ${(error as Error).message}`))}\n`;
    }
    if (Buffer.byteLength(text) > this.limits.maxResponseBytes) {
      this.options.logger.warn('control answer too large; sent an error instead', {
        bytes: Buffer.byteLength(text),
        limit: this.limits.maxResponseBytes,
      });
      text = `${JSON.stringify(errorResponse('response_too_large', `the answer exceeds ${this.limits.maxResponseBytes} bytes`))}\n`;
    }
    const cutOff = setTimeout(() => socket.destroy(), this.limits.writeDeadlineMs);
    cutOff.unref();
    socket.once('close', () => clearTimeout(cutOff));
    socket.end(text);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Creates the directory (0755) if needed and refuses one where another user could replace our
 * sockets: it and every ancestor must be trusted, and nobody else may write to it at all
 * (agent/fs-safety.ts). Group write is refused whatever the group: macOS's staff (20) and
 * admin (80) groups are people.
 */
export function prepareSocketDirectory(dir: string): void {
  try {
    ensureDirectory(dir, 0o755, 'control socket directory');
  } catch (error) {
    if (error instanceof UnsafePathError) {
      throw new UnsafeSocketDirectoryError(
        `${error.message}; choose another ControlSocketPath or fix its owner and mode`,
      );
    }
    throw error;
  }
}

/** Resolves true when something accepts a connection on `file` (a live daemon). */
function answers(file: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createConnection(file);
    const done = (live: boolean) => {
      clearTimeout(timer);
      probe.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    probe.once('connect', () => done(true));
    // ECONNREFUSED: a socket file nobody listens on (a previous run's leftover). Other errors
    // (EACCES…) are not proof that nobody is there: treat as live, never unlink.
    probe.once('error', (error: NodeJS.ErrnoException) => done(error.code !== 'ECONNREFUSED'));
  });
}

async function removeStaleSocket(file: string): Promise<void> {
  let info;
  try {
    info = await lstat(file);
  } catch {
    return;
  }
  // Anything that is not a socket is not ours to delete.
  if (!info.isSocket())
    throw new Error(`${file} exists and is not a socket; remove it or choose another ControlSocketPath`);
  // Connect first: a socket that answers belongs to a running daemon (perhaps one with another
  // state directory, so our lock says nothing about it). Never take its socket away.
  if (await answers(file)) {
    throw new SocketInUseError(
      `another process is serving ${file} (it accepted a connection); not replacing the socket of a running daemon: stop it or choose another ControlSocketPath`,
    );
  }
  await unlink(file);
}
