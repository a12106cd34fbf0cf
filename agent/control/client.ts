// Sends one request to the daemon and reads one response. Loads only node:net: agentctl
// status runs through here and must start fast.
import net from 'node:net';
import type { ControlResponse } from './protocol.js';

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

export function request(socketPath: string, name: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let connected = false;
    let buffer = '';
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`the daemon at ${socketPath} did not answer within ${timeoutMs} ms`)));
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify({ request: name, args })}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      socket.end();
      try {
        resolve(JSON.parse(buffer.slice(0, end)) as ControlResponse);
      } catch {
        reject(new Error(`the daemon at ${socketPath} sent a response that is not JSON`));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) fail(new DaemonUnreachableError(socketPath, error.code ?? error.message));
      else fail(error);
    });
    socket.on('end', () => {
      if (!buffer.includes('\n')) fail(new Error(`the daemon at ${socketPath} closed the connection without answering`));
    });
  });
}
