import test from 'ava';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { redactEveryPattern, redactFields, redactMessage } from '../../agent/log/redact.js';
import { LogCategories, maxLogCategories } from '../../agent/log/os-log.js';
import { createAgentLogger } from '../../agent/log/winston.js';
import { osLog } from '../../native/log.js';
import { missing } from '../helpers/system.js';

function tempDir(t: { teardown(f: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the file log is JSON lines with level, message, category and timestamp; secrets are redacted', async (t) => {
  const dir = tempDir(t);
  const logger = createAgentLogger({
    directory: dir,
    level: 'info',
    console: false,
    subsystem: 'com.trustguard.agent',
  });
  logger.info('collector configured', {
    url: 'https://collector.example.com',
    bearer_token: 'abc123',
    nested: { password: 'hunter2', ok: 1 },
  });
  logger.child('clock').warn('upload failed: Authorization: Bearer eyJhbGciOi.secret.part', {});
  logger.debug('not written at info');
  await logger.close();
  const lines = readFileSync(path.join(dir, 'agent.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(lines.length, 2);
  t.is(lines[0]!.level, 'info');
  t.is(lines[0]!.category, 'agent');
  t.is(lines[0]!.bearer_token, '<redacted>');
  t.deepEqual(lines[0]!.nested, { password: '<redacted>', ok: 1 });
  t.is(lines[0]!.url, 'https://collector.example.com');
  t.is(lines[1]!.category, 'clock');
  t.false(JSON.stringify(lines).includes('eyJhbGciOi'));
  t.false(JSON.stringify(lines).includes('hunter2'));
  t.regex(String(lines[0]!.timestamp), /^\d{4}-\d\d-\d\dT/);
});

test("the OS log is written under the agent's own subsystem only, and a bounded set of categories", (t) => {
  const dir = tempDir(t);
  t.throws(
    () =>
      createAgentLogger({
        directory: dir,
        level: 'info',
        console: false,
        subsystem: 'com.example.other' as 'com.trustguard.agent',
      }),
    { instanceOf: TypeError, message: /not one of the agent's log subsystems/ },
  );
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 200 }), (names) => {
      const categories = new LogCategories();
      const used = new Set(names.map((n) => categories.categoryFor(n)));
      return used.size <= maxLogCategories && [...used].every((c) => /^[a-z][a-z0-9-]{0,31}$/.test(c));
    }),
  );
  const categories = new LogCategories();
  t.is(categories.categoryFor('clock'), 'clock');
  t.is(categories.categoryFor('Not A Name'), 'agent');
  t.is(categories.categoryFor(undefined), 'agent');
});

test('the file log rotates by size and keeps maxFiles files', async (t) => {
  const dir = tempDir(t);
  const logger = createAgentLogger({
    directory: dir,
    level: 'info',
    console: false,
    subsystem: null,
    maxBytes: 2000,
    maxFiles: 3,
  });
  for (let i = 0; i < 200; i++) logger.info(`line ${i} ${'x'.repeat(50)}`);
  await logger.close();
  const files = readdirSync(dir).sort();
  t.true(files.includes('agent.log'));
  t.deepEqual(files, ['agent.log', 'agent1.log', 'agent2.log']);
  const all = files.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('');
  for (const f of files) t.true(readFileSync(path.join(dir, f)).length <= 2000, f);
  // A burst across rotations loses nothing that is kept: the kept lines are consecutive up to the last.
  const numbers = files
    .reverse()
    .flatMap((f) => [...readFileSync(path.join(dir, f), 'utf8').matchAll(/"line (\d+) /g)].map((m) => Number(m[1])));
  t.is(numbers.at(-1), 199);
  t.deepEqual(
    numbers,
    numbers.map((_, i) => 199 - (numbers.length - 1) + i),
  );
  t.true(all.length > 0);
  // The newest entries are in agent.log (tailable rotation).
  t.true(readFileSync(path.join(dir, 'agent.log'), 'utf8').includes('line 199'));
});

test('property: values under secret-named keys never survive redaction, at any depth', (t) => {
  const secretKey = fc.constantFrom(
    'token',
    'access_token',
    'Password',
    'client_secret',
    'Authorization',
    'apiKey',
    'private_key',
    'cookie',
  );
  fc.assert(
    fc.property(
      secretKey,
      fc.string({ minLength: 6 }).map((s) => `S3CR3T${s}`),
      fc.array(fc.constantFrom('a', 'b', 'items'), { maxLength: 4 }),
      (key, secret, route) => {
        let value: Record<string, unknown> = { [key]: secret };
        for (const step of route) value = { [step]: step === 'items' ? [value] : value };
        return !JSON.stringify(redactFields(value)).includes(secret);
      },
    ),
  );
  t.is(
    redactMessage('POST https://u:pw@host/x token=abc&x=1 Bearer zzz'),
    'POST https://host/x token=<redacted>&x=1 Bearer <redacted>',
  );
});

test('property: redactMessage, which returns most strings at once, cuts exactly what every pattern cuts', (t) => {
  // Strings made of the pieces the patterns look for, in any case, between any other text.
  const piece = fc.constantFrom(
    'https://',
    'ldaps://',
    'u:pw@',
    'host.example/p',
    '?token=x',
    '#frag',
    'eyJhbGciOi',
    '.eyJzdWIiOi',
    '.c2ln',
    'Bearer ',
    'BASIC ',
    'digest',
    'Token ',
    'token',
    'PassWord',
    'passwd',
    'pwd',
    'client_secret',
    'api-key',
    'Private_Key',
    'session_id',
    'credential',
    'authorization',
    'Cookie',
    'signature',
    'sig',
    '=',
    ': ',
    '"',
    "'",
    ' ',
    '&',
    ',',
    '2026-12-07T15:08:51Z',
  );
  const text = fc
    .array(fc.oneof(piece, fc.string({ maxLength: 6 }), fc.string({ maxLength: 6, unit: 'grapheme' })), {
      maxLength: 12,
    })
    .map((parts) => parts.join(''));
  fc.assert(
    fc.property(text, (s) => redactMessage(s) === redactEveryPattern(s)),
    { numRuns: 5000 },
  );
  t.pass();
});

test('osLog checks its arguments before they reach C++', (t) => {
  const call =
    (...args: unknown[]) =>
    () =>
      (osLog as (...a: unknown[]) => void)(...args);
  t.throws(call('com.trustguard.agent', 'test', 'loud', 'x'), { instanceOf: TypeError, message: /level/ });
  t.throws(call('com.trustguard.agent', '', 'info', 'x'), { instanceOf: TypeError });
  t.throws(call('com.trustguard.agent', 'test', 'info', 42), { instanceOf: TypeError });
  t.throws(call('com.trustguard.agent', 'test', 'info', 'x', 'extra'), { instanceOf: TypeError });
  t.notThrows(call('com.trustguard.agent', 'test', 'info', 'a message with a \u0000 NUL'));
});

// glibc's syslog(3) writes datagrams to /dev/log. Where no syslog daemon runs (containers),
// the test binds /dev/log itself with python3 (Node has no Unix datagram sockets) and
// reads what the addon sent.
const syslogNeeds = missing('root', 'linux', 'python3') ?? (existsSync('/dev/log') ? 'no /dev/log in use' : undefined);
(syslogNeeds ? test.skip : test)(
  `on Linux osLog writes to syslog with the subsystem as ident and facility daemon${syslogNeeds ? ` [needs ${syslogNeeds}]` : ''}`,
  async (t) => {
    const { spawn, spawnSync } = await import('node:child_process');
    const listener = spawn(
      'python3',
      [
        '-c',
        [
          'import socket,sys,os',
          's=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
          "s.bind('/dev/log')",
          "print('ready', flush=True)",
          's.settimeout(10)',
          // Every process's syslog(3) lands here too (an agentd of another test): keep the test's own.
          'while True:',
          '  data=s.recv(65536)',
          "  if b'syslog reached' in data: break",
          "print(data.decode('utf8','replace'), flush=True)",
          "os.unlink('/dev/log')",
        ].join('\n'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.teardown(() => {
      listener.kill();
      rmSync('/dev/log', { force: true });
    });
    let out = '';
    await new Promise<void>((resolve) =>
      listener.stdout.on('data', (d) => ((out += d), out.includes('ready') && resolve())),
    );
    const native = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'native', 'log.js');
    const writer = spawnSync(process.execPath, [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(native)}); m.osLog('com.trustguard.agent', 'test', 'error', 'syslog reached')`,
    ]);
    t.is(writer.status, 0, writer.stderr.toString());
    await new Promise<void>((resolve) => listener.on('exit', () => resolve()));
    // <27> = facility daemon (3) * 8 + LOG_ERR (3)
    t.regex(out, /<27>.*com\.trustguard\.agent\[\d+\]: \[test\] syslog reached/);
  },
);
