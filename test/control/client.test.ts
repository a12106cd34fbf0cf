// agentctl's control client (agent/control/client.ts) against hostile test servers on a Unix
// socket of this user: one that never answers, one that never ends its answer, one that answers.
// The answer deadline starts when the request is written; an unended answer stops at
// maxResponseBytes instead of growing without bound.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { request } from '../../agent/control/client.js';
import { maxResponseBytes } from '../../agent/control/protocol.js';

/** A hostile test server: `onRequest` gets each connection once its first line has arrived. */
async function hostileServer(
  t: { teardown(fn: () => Promise<void> | void): void },
  onRequest: (socket: net.Socket, line: string) => void,
): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-client-'));
  const socketPath = path.join(dir, 'agent.sock');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end >= 0) onRequest(socket, buffered.slice(0, end));
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  return socketPath;
}

test('a server that never answers: the request fails at its deadline, counted from the write', async (t) => {
  let asked = '';
  const socketPath = await hostileServer(t, (_socket, line) => {
    asked = line;
  });
  const started = Date.now();
  const error = await t.throwsAsync(request(socketPath, 'status', {}, 300));
  t.regex(error?.message ?? '', /did not answer within 300 ms/);
  t.true(Date.now() - started >= 250);
  t.deepEqual(JSON.parse(asked), { request: 'status', args: {} });
});

test('a server that never ends its answer: the request fails past maxResponseBytes, without waiting for the deadline', async (t) => {
  const socketPath = await hostileServer(t, (socket) => {
    const block = 'x'.repeat(64 * 1024);
    let sent = 0;
    const more = () => {
      while (sent <= maxResponseBytes + block.length && !socket.destroyed) {
        sent += block.length;
        if (!socket.write(block)) {
          socket.once('drain', more);
          return;
        }
      }
    };
    more();
  });
  const error = await t.throwsAsync(request(socketPath, 'status', {}, 60_000));
  t.regex(error?.message ?? '', new RegExp(`sent more than ${maxResponseBytes} bytes without ending its answer`));
});

test('a server that answers: the first line is the response', async (t) => {
  const socketPath = await hostileServer(t, (socket, line) => {
    const { request: name } = JSON.parse(line) as { request: string };
    socket.end(`${JSON.stringify({ ok: true, result: { asked: name } })}\nignored\n`);
  });
  t.deepEqual(await request(socketPath, 'status.text', { columns: 80 }), {
    ok: true,
    result: { asked: 'status.text' },
  });
});
