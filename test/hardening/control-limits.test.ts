// Issue 8, items 5–7: the control channel is bounded per connection and per user. Each attack
// is played by `nobody` against a real server (a ControlServer in this process, or a real agentd).
import test from 'ava';
import net from 'node:net';
import path from 'node:path';
import { ControlServer, type ControlServerOptions } from '../../agent/control/server.js';
import { silentLogger } from '../../agent/log/logger.js';
import { agentctl, createAgentFixture, requestOnce } from '../helpers/agent.js';
import {
  needsNobody,
  nobodyIds,
  nobodyPrefix,
  nobodyTitle,
  rssMB,
  spawnNobodyNode,
  tempFolder,
  waitForLine,
} from '../helpers/attacker.js';
import { startHostileNtpServer } from '../helpers/hostile-ntp-server.js';

const nobodyTest = needsNobody ? test.skip : test;

async function startServer(
  t: { teardown(fn: () => Promise<void> | void): void },
  options: Partial<ControlServerOptions> = {},
  setup?: (server: ControlServer) => void,
): Promise<ControlServer> {
  const dir = tempFolder(t, 'tg-control-limits-');
  const server = new ControlServer({
    socketPath: path.join(dir, 'run', 'agent.sock'),
    logger: silentLogger,
    ...options,
  });
  server.handle('status', () => ({ ok: 'yes' }), { mutating: false });
  setup?.(server);
  await server.start();
  t.teardown(() => server.stop(100));
  return server;
}

/** One request, the whole answer (up to `waitMs`). */
function exchange(
  socketPath: string,
  payload: string,
  waitMs = 20_000,
): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.createConnection(socketPath);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false, ms: Date.now() - started });
    }, waitMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d) => (text += d.toString('utf8')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, ms: Date.now() - started });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
  });
}

const firstResponse = (text: string) =>
  JSON.parse(text.split('\n')[0]!) as { ok: boolean; result?: unknown; error?: { code: string; message: string } };

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('(5) one request per connection: a pipelined second request is never read; the server answers once and closes', async (t) => {
  const server = await startServer(t);
  const { text, closed } = await exchange(
    server.socketPath,
    '{"request":"status"}\n{"request":"status"}\n{"request":"status"}\n',
  );
  t.true(closed);
  const lines = text.trim().split('\n');
  t.is(lines.length, 1);
  t.deepEqual(firstResponse(text), { ok: true, result: { ok: 'yes' } });
});

test('(5) an answer above the output cap is replaced by an error; a client that does not read its answer is cut off', async (t) => {
  const server = await startServer(t, { maxResponseBytes: 1024 * 1024, writeDeadlineMs: 500 }, (s) => {
    s.handle('huge', () => 'x'.repeat(2 * 1024 * 1024), { mutating: false });
    s.handle('big', () => 'y'.repeat(900 * 1024), { mutating: false });
  });
  const huge = firstResponse((await exchange(server.socketPath, '{"request":"huge"}\n')).text);
  t.false(huge.ok);
  t.is(huge.error?.code, 'response_too_large');
  // 900 KB is under the cap but more than a socket buffers: a client that never reads keeps
  // the server's output pending; the write deadline drops the connection.
  const lazy = net.createConnection(server.socketPath);
  t.teardown(() => lazy.destroy());
  await new Promise<void>((resolve) => lazy.on('connect', () => resolve()));
  lazy.pause();
  lazy.write('{"request":"big"}\n');
  await until(() => server.load().open === 1, 'the connection to be served');
  await until(() => server.load().open === 0, 'the server to drop the client that does not read', 5000);
  t.pass();
});

test('(7) a handler slower than the request deadline still answers; a handler past its own deadline gets "timeout"', async (t) => {
  const server = await startServer(t, { requestDeadlineMs: 500 }, (s) => {
    s.handle('slow', async () => new Promise((r) => setTimeout(() => r('done'), 1500)), { mutating: false });
    s.handle(
      'stuck',
      async (_args, { signal }) =>
        new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      { mutating: false, timeoutMs: 300 },
    );
    // A deadline that follows the configuration: asked at each request.
    let deadline = 2000;
    s.handle('follows', async () => new Promise((r) => setTimeout(() => r('late'), 1000)), {
      mutating: false,
      timeoutMs: () => deadline,
    });
    setTimeout(() => (deadline = 200), 0);
  });
  const slow = firstResponse((await exchange(server.socketPath, '{"request":"slow"}\n')).text);
  t.deepEqual(slow, { ok: true, result: 'done' });
  const stuck = firstResponse((await exchange(server.socketPath, '{"request":"stuck"}\n')).text);
  t.is(stuck.error?.code, 'timeout');
  t.regex(stuck.error?.message ?? '', /"stuck" did not finish within 300 ms/);
  const follows = firstResponse((await exchange(server.socketPath, '{"request":"follows"}\n')).text);
  t.regex(follows.error?.message ?? '', /"follows" did not finish within 200 ms/);
});

test('(6) the request deadline is absolute: a byte every 300 ms does not keep a connection open past it', async (t) => {
  const server = await startServer(t, { requestDeadlineMs: 1000 });
  const socket = net.createConnection(server.socketPath);
  t.teardown(() => socket.destroy());
  let text = '';
  socket.on('data', (d) => (text += d));
  socket.on('error', () => {});
  const payload = '{"request":"status"}';
  let i = 0;
  // How much of the request had been written when the daemon closed: behaviour, not a latency
  // (issue 17 item 16). A deadline that each byte renewed would wait for the whole request.
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(i)));
  const drip = setInterval(() => {
    if (!socket.destroyed && i < payload.length) socket.write(payload[i++]!);
  }, 300);
  t.teardown(() => clearInterval(drip));
  const written = await closed;
  t.true(written < payload.length, `closed after ${written} of ${payload.length} bytes`);
  t.regex(text, /no complete request within 1000 ms/);
  t.notRegex(text, /"ok":true/);
});

nobodyTest(
  nobodyTitle(
    '(6) nobody holding its connection quota gets "busy", root is still served, and agentctl as nobody says "the daemon is busy" in one sentence',
  ),
  async (t) => {
    // A long request deadline so that nobody's idle connections stay open for the whole test.
    const server = await startServer(t, { requestDeadlineMs: 60_000, connectionsPerUser: 8 });
    const holder = spawnNobodyNode(`
    const net = require('net');
    let open = 0;
    for (let i = 0; i < 8; i++) {
      const s = net.createConnection(${JSON.stringify(server.socketPath)});
      s.on('error', () => {});
      s.on('connect', () => { s.write('{'); if (++open === 8) console.log('holding'); });
    }
    setInterval(() => {}, 1000);
  `);
    t.teardown(() => void holder.kill('SIGKILL'));
    await waitForLine(holder, /holding/);
    await until(() => server.load().open === 8, "nobody's 8 connections");
    const ctl = await agentctl(['status', '--socket', server.socketPath], {
      prefix: [...nobodyPrefix],
      env: { HOME: '/nonexistent' },
    });
    t.is(ctl.code, 1);
    t.is(ctl.stderr.trim().split('\n').length, 1, ctl.stderr);
    t.regex(
      ctl.stderr,
      /^agentctl: the TrustGuard daemon is busy \(too many connections on .*\); try again in a moment$/m,
    );
    t.notRegex(ctl.stderr, /EPIPE|ECONNRESET/);
    t.true(server.load().refused_busy >= 1);
    // Root's own quota is untouched by nobody's.
    const rootStatus = await requestOnce(server.socketPath, { request: 'status' });
    t.true(rootStatus.ok);
  },
);

nobodyTest(
  nobodyTitle(
    "(6) slowloris as nobody (64 connections, one byte a second) neither blocks root's agentctl status nor outlives the 2 s deadline",
  ),
  async (t) => {
    const fx = createAgentFixture('tg-slowloris-');
    t.teardown(fx.cleanup);
    await fx.start();
    const loris = spawnNobodyNode(`
    const net = require('net');
    const results = { busy: 0, deadline: 0, other: 0, closedAfterMs: [] };
    let pending = 64, connected = 0;
    for (let i = 0; i < 64; i++) {
      const started = Date.now();
      const s = net.createConnection(${JSON.stringify(fx.socketPath)});
      let text = '';
      s.on('error', () => {});
      s.on('data', (d) => (text += d));
      s.on('connect', () => { if (++connected === 64) console.log('started'); });
      const drip = setInterval(() => { if (!s.destroyed) s.write('{'); }, 1000);
      s.on('close', () => {
        clearInterval(drip);
        results.closedAfterMs.push(Date.now() - started);
        if (/"busy"/.test(text)) results.busy++; else if (/no complete request within/.test(text)) results.deadline++; else results.other++;
        if (--pending === 0) { console.log('result ' + JSON.stringify(results)); process.exit(0); }
      });
    }
    setTimeout(() => { console.log('result ' + JSON.stringify({ ...results, stillOpen: pending })); process.exit(0); }, 15000);
  `);
    t.teardown(() => void loris.kill('SIGKILL'));
    const resultLine = waitForLine(loris, /^result /, 30_000);
    await waitForLine(loris, /started|result/);
    // While nobody's connections trickle, root's agentctl status is answered.
    const status = await agentctl(['status', '--json', '--socket', fx.socketPath]);
    const answered = JSON.parse(status.stdout) as { daemon: unknown; healthy: boolean };
    t.is(status.code, answered.healthy ? 0 : 2, status.stderr);
    t.truthy(answered.daemon);
    const result = JSON.parse((await resultLine).slice('result '.length)) as {
      busy: number;
      deadline: number;
      other: number;
      closedAfterMs: number[];
      stillOpen?: number;
    };
    t.is(result.stillOpen, undefined, JSON.stringify(result));
    // At most 8 of nobody's connections were served at a time; the rest were told "busy".
    t.true(result.busy >= 56 - 8, JSON.stringify(result));
    t.is(result.busy + result.deadline, 64, JSON.stringify(result));
    // None outlived the deadline although each sent a byte a second: all 64 were closed, by
    // "busy" or the deadline, before the script's 15 s end (stillOpen above). How long each took
    // is not asserted (issue 17 item 16: a loaded machine must not fail it).
  },
);

nobodyTest(
  nobodyTitle(
    '(5) pipelining 8 MB of status requests as nobody without reading: the daemon stays small and status answers',
  ),
  async (t) => {
    const fx = createAgentFixture('tg-pipeline-');
    t.teardown(fx.cleanup);
    const agent = await fx.start();
    const before = rssMB(agent.pid);
    // Eight connections at a time, each writing requests without reading a reply; when the daemon
    // closes one (it answers one request per connection), the next takes its place, until 8 MB.
    const flood = spawnNobodyNode(`
    const net = require('net');
    const chunk = Buffer.from('{"request":"status"}\\n'.repeat(4096));
    const total = 8 * 1024 * 1024;
    let sent = 0, connections = 0;
    const open = () => {
      if (sent >= total) return;
      connections++;
      const s = net.createConnection(${JSON.stringify(fx.socketPath)});
      s.pause(); // never read a reply
      s.on('error', () => {});
      s.on('close', open);
      s.on('connect', () => {
        const pump = () => { while (sent < total && s.writable) { sent += chunk.length; if (!s.write(chunk)) return s.once('drain', pump); } };
        pump();
      });
    };
    for (let c = 0; c < 8; c++) open();
    const done = setInterval(() => { if (sent >= total) { clearInterval(done); console.log('sent ' + sent + ' bytes over ' + connections + ' connections'); } }, 50);
    setInterval(() => {}, 1000);
  `);
    t.teardown(() => void flood.kill('SIGKILL'));
    const line = await waitForLine(flood, /^sent /);
    const during = rssMB(agent.pid);
    const status = await requestOnce(fx.socketPath, { request: 'status' });
    t.true(status.ok);
    t.log(`agentd RSS ${before.toFixed(1)} MB before, ${during.toFixed(1)} MB during the flood (${line})`);
    // Before the fix the daemon grew ~170× the bytes sent (8 MB → 1.3 GB).
    t.true(during - before < 40, `grew ${(during - before).toFixed(1)} MB`);
    const { uid } = nobodyIds();
    t.true(uid > 0);
  },
);

(needsNobody ? test.skip : test)(
  nobodyTitle(
    '(7) measure through agentd with the default 4 samples × 2 s spacing answers (longer than any request deadline)',
  ),
  async (t) => {
    const servers = await Promise.all([startHostileNtpServer(), startHostileNtpServer()]);
    const fx = createAgentFixture('tg-measure-');
    t.teardown(async () => {
      await fx.cleanup();
      await Promise.all(servers.map((s) => s.stop()));
    });
    fx.writeConfig({
      NTPServers: servers.map((s) => `${s.host}:${s.port}`),
      NTPSamplesPerServer: 4,
      NTPSampleSpacingMilliseconds: 2000,
      MeasureIntervalSeconds: 3600,
    });
    await fx.start();
    const { text, ms } = await exchange(`${fx.socketPath}.admin`, '{"request":"measure"}\n', 30_000);
    const response = firstResponse(text);
    t.true(response.ok, text);
    t.true(ms > 5000, `answered after ${ms} ms`);
    t.is((response.result as { agreeing_sources: number }).agreeing_sources, 2);
  },
);
