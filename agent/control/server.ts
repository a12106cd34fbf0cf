// The control channel's server side. Privilege is enforced by the OS through file modes:
//   <ControlSocketPath>        mode 0666  read-only requests, from any local user
//   <ControlSocketPath>.admin  mode 0600  every request; only the daemon's owner (root) can connect
// A mutating request on the read-only socket is refused with "forbidden". Capabilities add
// their requests with handle(); the server knows none of them.
import { chmod, lstat, mkdir, realpath, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { adminSocketPath } from '../config/defaults.js';
import type { Logger } from '../log/logger.js';
import { errorResponse, isResponse, maxRequestBytes, parseRequest, readTimeoutMs, type ControlResponse } from './protocol.js';

export interface RequestContext {
  /** True on the admin socket (the caller could open a root-only socket). */
  privileged: boolean;
}

export type RequestHandler = (args: Record<string, unknown>, context: RequestContext) => unknown;

interface Registration {
  handler: RequestHandler;
  mutating: boolean;
}

export interface ControlServerOptions {
  socketPath: string;
  logger: Logger;
  maxRequestBytes?: number;
  readTimeoutMs?: number;
}

/** The socket's directory is unsafe: someone else could replace the sockets. */
export class UnsafeSocketDirectoryError extends Error {}

export class ControlServer {
  readonly socketPath: string;
  readonly adminSocketPath: string;
  private readonly handlers = new Map<string, Registration>();
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<net.Socket>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping = false;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: ControlServerOptions) {
    this.socketPath = options.socketPath;
    this.adminSocketPath = adminSocketPath(options.socketPath);
    this.maxBytes = options.maxRequestBytes ?? maxRequestBytes;
    this.timeoutMs = options.readTimeoutMs ?? readTimeoutMs;
  }

  /** Registers a request. `mutating` requests are answered only on the admin socket. */
  handle(name: string, handler: RequestHandler, options: { mutating: boolean }): void {
    if (this.handlers.has(name)) throw new Error(`control request "${name}" is already registered`);
    this.handlers.set(name, { handler, mutating: options.mutating });
  }

  requests(): Array<{ name: string; mutating: boolean }> {
    return [...this.handlers].map(([name, r]) => ({ name, mutating: r.mutating }));
  }

  async start(): Promise<void> {
    await prepareSocketDirectory(path.dirname(this.socketPath));
    await this.listen(this.socketPath, 0o666, false);
    await this.listen(this.adminSocketPath, 0o600, true);
  }

  /** Stops accepting, lets in-flight requests answer (up to capMs), closes every connection, removes the sockets. */
  async stop(capMs = 2000): Promise<void> {
    this.stopping = true;
    const closed = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    await Promise.race([Promise.allSettled([...this.inFlight]), delay(capMs)]);
    for (const socket of this.connections) socket.destroy();
    await Promise.all(closed);
    for (const file of [this.socketPath, this.adminSocketPath]) await unlink(file).catch(() => {});
  }

  private async listen(file: string, mode: number, privileged: boolean): Promise<void> {
    await removeStaleSocket(file);
    // allowHalfOpen: a client may shut down its side after the request and still read the answer.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.serve(socket, privileged));
    server.maxConnections = 64;
    // Before the chmod the socket has the umask's mode (at most 0755), which no other user
    // can connect to (connect needs write permission), so there is no window of wider access.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.options.logger.error('control socket error', { socket: file, error: error.message }));
    await chmod(file, mode);
    this.servers.push(server);
  }

  private serve(socket: net.Socket, privileged: boolean): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(this.timeoutMs, () => {
      // Half-written or idle: say why, then hang up.
      this.reply(socket, errorResponse('bad_request', `no complete request within ${this.timeoutMs} ms`));
      socket.end();
      socket.destroySoon();
    });
    let pending: Buffer = Buffer.alloc(0);
    let queue: Promise<void> = Promise.resolve();
    let rejected = false;
    socket.on('data', (chunk: Buffer) => {
      if (rejected) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf(0x0a);
        const lineLength = end < 0 ? pending.length : end;
        if (lineLength > this.maxBytes) {
          rejected = true;
          pending = Buffer.alloc(0);
          queue = queue.then(() => {
            this.reply(socket, errorResponse('too_large', `requests are limited to ${this.maxBytes} bytes`));
            socket.end();
          });
          return;
        }
        if (end < 0) return;
        const line = pending.subarray(0, end).toString('utf8');
        pending = pending.subarray(end + 1);
        if (line.trim() === '') continue;
        queue = queue.then(async () => this.reply(socket, await this.answer(line, privileged)));
      }
    });
    socket.on('end', () => {
      queue = queue.then(() => {
        if (!rejected && pending.length > 0) this.reply(socket, errorResponse('bad_request', 'incomplete request: the connection ended before a newline'));
        socket.end();
      });
    });
  }

  private async answer(line: string, privileged: boolean): Promise<ControlResponse> {
    const parsed = parseRequest(line);
    if (isResponse(parsed)) return parsed;
    if (this.stopping) return errorResponse('shutting_down', 'the daemon is shutting down');
    const registration = this.handlers.get(parsed.request);
    if (!registration) {
      return errorResponse('unknown_request', `unknown request "${parsed.request}"; known: ${[...this.handlers.keys()].join(', ')}`);
    }
    if (registration.mutating && !privileged) {
      return errorResponse('forbidden', `"${parsed.request}" changes the daemon and is accepted only on the root-only socket ${this.adminSocketPath} (run agentctl with sudo)`);
    }
    const work = (async () => registration.handler(parsed.args ?? {}, { privileged }))();
    this.inFlight.add(work);
    try {
      return { ok: true, result: (await work) ?? null };
    } catch (error) {
      return errorResponse('failed', (error as Error).message);
    } finally {
      this.inFlight.delete(work);
    }
  }

  private reply(socket: net.Socket, response: ControlResponse): void {
    if (socket.writable) socket.write(`${JSON.stringify(response)}\n`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Creates the directory if needed and refuses one where another user could replace our
 * sockets: it must belong to us or root, and must not be writable by others (group-writable
 * only for a system group, as macOS's /var/run is root:daemon 0775) unless it is sticky.
 */
export async function prepareSocketDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const real = await realpath(dir);
  const info = await stat(real);
  const me = process.getuid?.() ?? 0;
  const sticky = (info.mode & 0o1000) !== 0;
  const problems: string[] = [];
  if (info.uid !== me && info.uid !== 0) problems.push(`it belongs to uid ${info.uid}`);
  if (!sticky && info.mode & 0o002) problems.push('anyone can write to it');
  if (!sticky && info.mode & 0o020 && info.gid >= 100 && info.gid !== (process.getgid?.() ?? 0)) problems.push(`group ${info.gid} can write to it`);
  if (problems.length) {
    throw new UnsafeSocketDirectoryError(`the control socket directory ${dir} is unsafe: ${problems.join(' and ')}; choose another ControlSocketPath or fix its owner and mode`);
  }
}

async function removeStaleSocket(file: string): Promise<void> {
  let info;
  try {
    info = await lstat(file);
  } catch {
    return;
  }
  // The instance lock is held, so a socket here is a previous run's leftover. Anything that
  // is not a socket is not ours to delete.
  if (!info.isSocket()) throw new Error(`${file} exists and is not a socket; remove it or choose another ControlSocketPath`);
  await unlink(file);
}
