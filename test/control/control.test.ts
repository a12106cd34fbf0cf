import test from 'ava';
import fc from 'fast-check';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { agentctl, createAgentFixture, rawExchange, requestOnce, runProgram } from '../helpers/agent.js';
import { missing } from '../helpers/system.js';

async function statusStillWorks(socketPath: string): Promise<boolean> {
  const response = await requestOnce(socketPath, { request: 'status' });
  return response.ok === true;
}

test('garbage, non-objects, unknown requests and bad args get an error response, and the daemon keeps serving', async (t) => {
  const fx = createAgentFixture('tg-control-');
  t.teardown(fx.cleanup);
  await fx.start();
  const cases: Array<[string, string]> = [
    ['this is not json\n', 'bad_request'],
    ['[1,2,3]\n', 'bad_request'],
    ['{"request": 42}\n', 'bad_request'],
    ['{"request": "status", "args": []}\n', 'bad_request'],
    ['{"request": "launch-missiles"}\n', 'unknown_request'],
  ];
  for (const [payload, code] of cases) {
    const { text } = await rawExchange(fx.socketPath, payload, { endAfterWrite: true });
    const response = JSON.parse(text.split('\n')[0]!) as { ok: boolean; error: { code: string } };
    t.false(response.ok, payload);
    t.is(response.error.code, code, payload);
  }
  t.true(await statusStillWorks(fx.socketPath));
});

test('one request per connection: the first line is answered, the rest is never read, and the server closes', async (t) => {
  const fx = createAgentFixture('tg-control-');
  t.teardown(fx.cleanup);
  await fx.start();
  const { text, closedByServer } = await rawExchange(
    fx.socketPath,
    '{"request":"status"}\nnope\n{"request":"config"}\n',
    { endAfterWrite: true },
  );
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ok: boolean; result?: Record<string, unknown> });
  t.true(closedByServer);
  t.is(lines.length, 1);
  t.true(lines[0]!.ok && 'daemon' in lines[0]!.result!);
});

test('an oversized request gets "too_large" and the connection is closed; the daemon keeps serving', async (t) => {
  const fx = createAgentFixture('tg-control-');
  t.teardown(fx.cleanup);
  await fx.start();
  const big = `{"request":"status","args":{"pad":"${'x'.repeat(100 * 1024)}"}}\n`;
  const { text, closedByServer } = await rawExchange(fx.socketPath, big);
  t.true(closedByServer);
  t.is((JSON.parse(text.split('\n')[0]!) as { error: { code: string } }).error.code, 'too_large');
  // No newline at all, just endless bytes: also cut off.
  const endless = await rawExchange(fx.socketPath, Buffer.alloc(200 * 1024, 0x41));
  t.true(endless.closedByServer);
  t.true(await statusStillWorks(fx.socketPath));
});

test('a half-written request is answered with an error when the client hangs up, or when the request deadline passes', async (t) => {
  const fx = createAgentFixture('tg-control-');
  t.teardown(fx.cleanup);
  await fx.start();
  const halfClosed = await rawExchange(fx.socketPath, '{"request":"sta', { endAfterWrite: true });
  t.regex(halfClosed.text, /incomplete request/);
  // The client keeps the connection open and never finishes: the request deadline (2 s) closes it.
  const stalled = await rawExchange(fx.socketPath, '{"request":"sta', { waitMs: 15_000 });
  t.true(stalled.closedByServer);
  t.regex(stalled.text, /no complete request within/);
  t.true(await statusStillWorks(fx.socketPath));
});

test('property: random bytes on the socket never stop the daemon from serving', async (t) => {
  const fx = createAgentFixture('tg-control-');
  t.teardown(fx.cleanup);
  await fx.start();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 2048 }),
        fc.string().map((s) => Buffer.from(`${s}\n`)),
        fc.json().map((j) => Buffer.from(`${j}\n`)),
      ),
      async (bytes) => {
        const { text } = await rawExchange(fx.socketPath, Buffer.from(bytes), { endAfterWrite: true });
        // Every line the server sends is a JSON response.
        for (const line of text.split('\n').filter(Boolean)) {
          const response = JSON.parse(line) as { ok: unknown };
          if (typeof response.ok !== 'boolean') return false;
        }
        return statusStillWorks(fx.socketPath);
      },
    ),
    { numRuns: 40 },
  );
  t.pass();
});

test('a mutating request on the read-only socket is refused; on the admin socket it is served', async (t) => {
  const fx = createAgentFixture('tg-control-');
  t.teardown(fx.cleanup);
  await fx.start();
  const refused = (await requestOnce(fx.socketPath, { request: 'reload' })) as {
    ok: boolean;
    error: { code: string; message: string };
  };
  t.false(refused.ok);
  t.is(refused.error.code, 'forbidden');
  t.true(refused.error.message.includes(`${fx.socketPath}.admin`));
  const served = await requestOnce(`${fx.socketPath}.admin`, { request: 'reload' });
  t.true(served.ok);
  const viaCtl = await agentctl(['reload', '--socket', fx.socketPath]);
  t.is(viaCtl.code, 0, viaCtl.stderr);
  t.regex(viaCtl.stdout, /Reloaded/);
});

const asNobody = missing('root', 'linux') ?? (process.platform === 'linux' ? undefined : 'linux');
(asNobody ? test.skip : test)(
  `a non-root caller gets status but cannot reload (OS-enforced socket modes)${asNobody ? ` [needs ${asNobody}]` : ''}`,
  async (t) => {
    const fx = createAgentFixture('tg-control-');
    t.teardown(fx.cleanup);
    await fx.start();
    const nobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
    const status = await agentctl(['status', '--json', '--socket', fx.socketPath], {
      prefix: nobody,
      env: { HOME: '/nonexistent' },
    });
    // 0 healthy or 2 with problems (this daemon has no time source): an answer either way.
    t.true(status.code === 0 || status.code === 2, status.stderr);
    t.is((JSON.parse(status.stdout) as { daemon: { mode: string } }).daemon.mode, 'observe');
    const reload = await agentctl(['reload', '--socket', fx.socketPath], {
      prefix: nobody,
      env: { HOME: '/nonexistent' },
    });
    t.is(reload.code, 1);
    t.regex(reload.stderr, /needs root \(permission denied on .*agent\.sock\.admin\)/);
    // And the mutating request sent to the socket nobody can open is refused by the daemon.
    const script = `const s=require('net').createConnection(${JSON.stringify(fx.socketPath)});s.on('connect',()=>s.end('{"request":"reload"}\\n'));s.on('data',d=>process.stdout.write(d));`;
    const raw = await runProgram(nobody[0]!, [...nobody.slice(1), process.execPath, '-e', script]);
    t.regex(raw.stdout, /"code":"forbidden"/);
    t.is(fx.logLines().filter((l) => l.message === 'configuration reloaded').length, 0);
  },
);

test('agentd refuses a socket directory that others can write to', async (t) => {
  const fx = createAgentFixture('tg-control-');
  t.teardown(fx.cleanup);
  const open = path.join(fx.dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  fx.writeConfig({ ControlSocketPath: path.join(open, 'agent.sock') });
  const result = await fx.startExpectingExit();
  t.is(result.code, 1);
  t.regex(result.stderr, /control socket directory .*open is unsafe: is writable by anyone \(mode 0777\)/);
});
