// Issue 17, items 5–8: the telemetry capability against a hostile collector. The collector is
// a hostile test server of our own on 127.0.0.1 (test/helpers/hostile-collector.ts): nginx,
// the real collector of the other tests, cannot echo credentials, stream 200 MB or report
// more rejected records than it was sent.
//   5. a collector that echoes the bearer token (verbatim, base64, …) never gets it into
//      status, the log or an event: every collector text is scrubbed of what the daemon knows
//      is secret, and capped at 1 KiB;
//   6. a huge answer is not read past the 64 KiB kept: the request is aborted;
//   7. partialSuccess.rejectedLogRecords larger than the batch cannot drive a counter
//      negative, and no counter goes past 2^53;
//   8. a CollectorURL the URL parser refuses is a configuration problem shown in status, and
//      the Telemetry section never disappears.
import test from 'ava';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkValue, loadKeyTable } from '../../agent/config/keys.js';
import { collectorText, COLLECTOR_TEXT_LIMIT, secretForms } from '../../agent/telemetry/collector-text.js';
import { logsEndpoint } from '../../agent/telemetry/endpoint.js';
import { encodeStoredEvent, prepareEvent } from '../../agent/telemetry/events.js';
import { OtlpHttpExporter, type OtlpExporterOptions } from '../../agent/telemetry/exporter.js';
import { counterNames, Forwarder } from '../../agent/telemetry/forwarder.js';
import { Spool, type SpoolRecord } from '../../agent/telemetry/spool.js';
import { agentctl, createAgentFixture, eventually, requestOnce, type AgentFixture } from '../helpers/agent.js';
import { nobodyPrefix, nobodyTitle, needsNobody } from '../helpers/attacker.js';
import { startHostileCollector } from '../helpers/hostile-collector.js';

test.before(async () => {
  await loadKeyTable();
});

function records(n: number, firstSeq = 1): SpoolRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const p = prepareEvent({ name: 'telemetry.test', severity: 'info', attributes: { index: i } });
    if (!p.ok) throw new Error('bad test event');
    return { seq: firstSeq + i, payload: encodeStoredEvent(p.event) };
  });
}

const options = (over: Partial<OtlpExporterOptions>): OtlpExporterOptions => ({
  collectorUrl: 'http://127.0.0.1:9',
  timeoutMs: 60_000,
  resource: { 'service.name': 'trustguard-agent', 'host.id': 'test-host' },
  scopeVersion: '0.1.0',
  userAgent: 'TrustGuard/test',
  ...over,
});

async function hostile(
  t: { teardown(fn: () => Promise<void>): void },
  ...args: Parameters<typeof startHostileCollector>
) {
  const server = await startHostileCollector(...args);
  t.teardown(() => server.close());
  return server;
}

function secretsDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-hostile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeSecret(dir: string, name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, 0o600);
  return file;
}

const newToken = () => `tgT0k${randomBytes(24).toString('base64url')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const b64url = (s: string) => Buffer.from(s).toString('base64url');

/** The forms a collector may echo a token in (each is the secret, or carries it). */
const echoForms: Array<[string, (token: string) => string]> = [
  ['verbatim', (k) => `rejected credentials (${k})`],
  ['the issue’s other form', (k) => `invalid token ${k}`],
  ['base64', (k) => `rejected credentials (${b64(k)})`],
  ['base64 of the header value', (k) => `rejected Authorization ${b64(`Bearer ${k}`)}`],
  ['base64url of user:token', (k) => `basic ${b64url(`device:${k}`)}`],
  ['upper case', (k) => `REJECTED ${k.toUpperCase()}`],
  ['percent-encoded', (k) => `GET /auth?t=${encodeURIComponent(k)}`],
  ['hex', (k) => `token bytes ${Buffer.from(k).toString('hex')}`],
  ['half of it', (k) => `rejected …${k.slice(k.length / 2)}`],
  ['in the middle of a word', (k) => `x${k}y`],
];

/** True when `text` shows the token (or its base64) in any form listed above. */
function leaks(text: string, token: string): string | null {
  const lower = text.toLowerCase();
  for (const form of [
    token,
    b64(token),
    b64(`Bearer ${token}`).slice(10, -4),
    b64url(`device:${token}`).slice(10, -4),
    encodeURIComponent(token),
    Buffer.from(token).toString('hex'),
    token.slice(token.length / 2),
  ]) {
    // Any 12 consecutive characters of a form count as a leak.
    for (let i = 0; i + 12 <= form.length; i++) {
      if (lower.includes(form.slice(i, i + 12).toLowerCase())) return form.slice(i, i + 12);
    }
  }
  return null;
}

// ---- item 5: the bearer token echoed by the collector -------------------------------------

test('item 5: a collector echoing the token in any of ten forms gets none of them into the failure detail (exporter)', async (t) => {
  const server = await hostile(t, { kind: 'echo' });
  const token = newToken();
  const exporter = new OtlpHttpExporter(options({ collectorUrl: server.origin, bearerToken: token }));
  t.teardown(() => exporter.close());
  for (const [name, echo] of echoForms) {
    server.setAnswer({ kind: 'echo', echo });
    const outcome = await exporter.send(records(1), new AbortController().signal);
    t.is(outcome.kind, 'dead_letter', name);
    const detail = outcome.kind === 'dead_letter' ? (outcome.detail ?? '') : '';
    t.is(leaks(detail, token), null, `${name}: ${detail}`);
    t.regex(detail, /^HTTP 401: /, name);
    t.true(detail.includes('<redacted>'), `${name}: ${detail}`);
  }
});

test('item 5: the token read from CollectorBearerTokenFile, and lines of the client key, are scrubbed too', async (t) => {
  const server = await hostile(t, { kind: 'echo' });
  const dir = secretsDir(t);
  const token = newToken();
  // A real pair (openssl), so that the exporter gets as far as the collector.
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile].concat([
      '-subj',
      '/CN=device-client',
      '-days',
      '1',
    ]),
    { stdio: 'ignore' },
  );
  chmodSync(keyFile, 0o600);
  const keyLine = readFileSync(keyFile, 'utf8').split('\n')[3]!;
  const exporter = new OtlpHttpExporter(
    options({
      collectorUrl: server.origin,
      bearerTokenFile: writeSecret(dir, 'token', `${token}\n`),
      clientCertificateFile: certFile,
      clientKeyFile: keyFile,
    }),
  );
  t.teardown(() => exporter.close());
  server.setAnswer({ kind: 'echo', echo: (k) => `denied ${k} and ${keyLine}` });
  const outcome = await exporter.send(records(1), new AbortController().signal);
  t.is(outcome.kind, 'dead_letter');
  const detail = 'detail' in outcome ? (outcome.detail ?? '') : '';
  t.regex(detail, /^HTTP 401: denied /);
  t.false(detail.includes(token), detail);
  t.false(detail.includes(keyLine.slice(0, 16)), detail);
});

test('item 5: property: a generated token, echoed in a generated form inside generated text, never survives collectorText', (t) => {
  const tokenArb = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{16,80}$/);
  const textArb = fc.string({ unit: fc.constantFrom(...' abcdefghij(),:;"=-0123456789XYZ'.split('')), maxLength: 200 });
  const prefixArb = fc.uint8Array({ minLength: 0, maxLength: 5 });
  fc.assert(
    fc.property(
      tokenArb,
      textArb,
      textArb,
      prefixArb,
      fc.nat(echoForms.length - 1),
      (token, before, after, prefix, f) => {
        const forms = secretForms([token]);
        // base64 of (any short prefix + token): the token's part of it must go whatever the alignment.
        const b64WithPrefix = Buffer.concat([Buffer.from(prefix), Buffer.from(token)]).toString('base64');
        const echoed = `${echoForms[f]![1](token)} ${b64WithPrefix}`;
        const out = collectorText(`${before}${echoed}${after}`, forms);
        const tokenPart = b64WithPrefix.slice(8, -4);
        for (const form of [token, tokenPart]) {
          for (let i = 0; i + 12 <= form.length; i++)
            if (out.toLowerCase().includes(form.slice(i, i + 12).toLowerCase())) return false;
        }
        return out.length <= COLLECTOR_TEXT_LIMIT;
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('item 5: collector text is printable, capped at 1 KiB with "…", and left alone when it holds no secret', (t) => {
  const forms = secretForms([newToken()]);
  t.is(
    collectorText('bad request: field resourceLogs[0] missing', forms),
    'bad request: field resourceLogs[0] missing',
  );
  const long = collectorText('x'.repeat(70_000), forms);
  t.is(long.length, COLLECTOR_TEXT_LIMIT);
  t.true(long.endsWith('…'));
  t.is(collectorText('a\u0000b\u001b[31mc\u202ed', null), 'a b [31mc d');
});

(needsNobody ? test.skip : test)(
  nobodyTitle(
    'item 5: a real agentd behind an echoing collector: nobody reads no token in status --json, and the log holds none',
  ),
  async (t) => {
    const server = await hostile(t, {
      kind: 'echo',
      echo: (k) => `rejected credentials (${k}); as received: ${b64(`Bearer ${k}`)}`,
    });
    const fx = createAgentFixture('tg-hostile-echo-');
    t.teardown(fx.cleanup);
    const token = newToken();
    fx.writeConfig({
      CollectorURL: server.origin,
      CollectorBearerTokenFile: writeSecret(fx.dir, 'token', `${token}\n`),
      TelemetryFlushIntervalSeconds: 1,
    });
    await fx.start();
    const error = await eventually(async () => {
      const section = await telemetrySection(fx);
      const e = section.last_error as { code: string; detail: string } | null;
      return e?.code === 'collector_rejected' ? e : undefined;
    }, 'the collector’s refusal in status');
    t.regex(error.detail, /^HTTP 401: rejected credentials \(<redacted>\)/);
    const status = await agentctl(['status', '--json', '--socket', fx.socketPath], {
      prefix: [...nobodyPrefix],
      env: { HOME: '/nonexistent' },
    });
    t.is(status.code === 0 || status.code === 2 || status.code === 1, true, status.stderr);
    t.true(status.stdout.includes('rejected credentials'), status.stdout.slice(0, 400));
    t.is(leaks(status.stdout + status.stderr, token), null);
    t.is(leaks(readFileSync(fx.logFile, 'utf8'), token), null);
  },
);

// ---- item 6: a huge answer -----------------------------------------------------------------

for (const [name, answer] of [
  ['a 200 of 200 MB with Content-Length', { kind: 'huge', bytes: 200 << 20, status: 200 }],
  ['a chunked 200 of 200 MB', { kind: 'huge', bytes: 200 << 20, status: 200, contentLength: false }],
  ['a 500 of 200 MB', { kind: 'huge', bytes: 200 << 20, status: 500 }],
] as const) {
  test(`item 6: ${name} is not read past the 64 KiB kept: the request is aborted`, async (t) => {
    const server = await hostile(t, answer);
    const exporter = new OtlpHttpExporter(options({ collectorUrl: server.origin }));
    t.teardown(() => exporter.close());
    const outcome = await exporter.send(records(2), new AbortController().signal);
    const [record] = await server.waitForHugeAnswers(1);
    t.false(record!.complete);
    // What the kernel's socket buffers hold on loopback (a few MB), never the 200 MB.
    t.true(record!.written < 32 << 20, `${record!.written} bytes taken`);
    if (answer.status === 200) t.is(outcome.kind, 'delivered');
    else {
      t.is(outcome.kind, 'dead_letter');
      t.regex('detail' in outcome ? (outcome.detail ?? '') : '', /^HTTP 500\b.*64 KiB/);
    }
  });
}

// ---- item 7: counters ------------------------------------------------------------------------

for (const rejected of ['9007199254740991', 9_007_199_254_740_991, '1000', 6, -5, '1e400', 'NaN']) {
  test(`item 7: partialSuccess.rejectedLogRecords = ${JSON.stringify(rejected)} for a batch of 5 keeps every counter within 0..5`, async (t) => {
    const server = await hostile(t, { kind: 'partial', rejected });
    const dir = secretsDir(t);
    const spool = await Spool.open({ dir, maxBytes: 1 << 20 });
    for (const r of records(5)) spool.append(r.payload);
    await spool.flush();
    const exporter = new OtlpHttpExporter(options({ collectorUrl: server.origin }));
    const forwarder = new Forwarder({
      spool,
      exporter,
      batchMaxRecords: 500,
      batchMaxBytes: 512 << 10,
      maxRecordsPerSecond: 1000,
      flushIntervalMs: 60_000,
    });
    forwarder.start(0);
    await eventually(() => (spool.stats().depth === 0 ? true : undefined), 'the batch acknowledged');
    await forwarder.stop();
    exporter.close();
    const c = spool.stats().counters;
    await spool.close();
    const sent = c[counterNames.sent] ?? 0;
    const rej = c[counterNames.rejected] ?? 0;
    t.true(sent >= 0 && sent <= 5, `sent ${sent}`);
    t.true(rej >= 0 && rej <= 5, `rejected ${rej}`);
    t.is(sent + rej, 5);
  });
}

test('item 7: spool counters saturate at 2^53 − 1 and never go negative', async (t) => {
  const dir = secretsDir(t);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20 });
  await spool.count({ sent: Number.MAX_SAFE_INTEGER - 2 });
  await spool.count({ sent: 10 });
  t.is(spool.stats().counters.sent, Number.MAX_SAFE_INTEGER);
  await spool.count({ sent: -20, other: -3 });
  t.is(spool.stats().counters.sent, Number.MAX_SAFE_INTEGER);
  t.is(spool.stats().counters.other ?? 0, 0);
  await spool.close();
  // And what was saved reads back the same.
  const again = await Spool.open({ dir, maxBytes: 1 << 20 });
  t.is(again.stats().counters.sent, Number.MAX_SAFE_INTEGER);
  await again.close();
});

// ---- item 8: a CollectorURL the parser refuses -----------------------------------------------

test('item 8: CollectorURL is validated by the parser that uses it: every accepted value makes an endpoint', (t) => {
  for (const refused of [
    'http://127.0.0.1:99999/',
    'http://localhost:65536',
    'https://collector.example.com:99999/',
    'http://[::1]:123456/v1/logs',
  ])
    t.regex(checkValue('CollectorURL', refused) ?? '', /^CollectorURL must be/, refused);
  for (const accepted of ['', 'http://127.0.0.1:4318', 'http://localhost/', 'https://otel.example.com/base/'])
    t.is(checkValue('CollectorURL', accepted), undefined, accepted);
  const urlish = fc.oneof(
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc
      .tuple(
        fc.constantFrom('http://127.0.0.1', 'http://localhost', 'http://[::1]', 'https://a.example'),
        fc.integer({ min: 0, max: 200_000 }),
        fc.string(),
      )
      .map(([h, port, rest]) => `${h}:${port}/${rest}`),
  );
  fc.assert(
    fc.property(urlish, (u) => {
      if (checkValue('CollectorURL', u) !== undefined) return true;
      logsEndpoint(u);
      return true;
    }),
    { numRuns: 2000 },
  );
});

async function telemetrySection(fx: AgentFixture): Promise<Record<string, unknown>> {
  const response = await requestOnce(fx.socketPath, { request: 'status' });
  return (response.result as { telemetry: Record<string, unknown> }).telemetry;
}

test('item 8: agentd with CollectorURL http://127.0.0.1:99999/ keeps its Telemetry section and shows the configuration problem', async (t) => {
  const fx = createAgentFixture('tg-hostile-url-');
  t.teardown(fx.cleanup);
  fx.writeConfig({ CollectorURL: 'http://127.0.0.1:99999/' });
  await fx.start();
  const response = await requestOnce(fx.socketPath, { request: 'status' });
  const result = response.result as { telemetry?: Record<string, unknown>; daemon: { config_problems: string[] } };
  t.truthy(result.telemetry, 'the Telemetry section is there');
  t.true(
    result.daemon.config_problems.some((p) => p.startsWith('CollectorURL must be')),
    JSON.stringify(result.daemon.config_problems),
  );
  const status = await agentctl(['status', '--socket', fx.socketPath]);
  t.regex(status.stdout, /CollectorURL must be/);
  t.notRegex(status.stdout, /No data: this daemon does not run telemetry/);
});

test('item 8: a refused CollectorURL that reaches the capability anyway (a last good configuration from an older agent) is a problem in the Telemetry section', async (t) => {
  const fx = createAgentFixture('tg-hostile-url-lastgood-');
  t.teardown(fx.cleanup);
  const bad = 'http://127.0.0.1:99999/';
  fx.writeConfig({ CollectorURL: bad });
  // An older agent validated the URL with a regular expression and saved it as last good.
  mkdirSync(fx.stateDir, { recursive: true, mode: 0o700 });
  const document = {
    version: 1,
    saved_at_ms: Date.now(),
    config: { CollectorURL: bad },
    sources: { CollectorURL: fx.configFile },
    files: [fx.configFile],
  };
  writeFileSync(path.join(fx.stateDir, 'last-good-config.json'), JSON.stringify(document), { mode: 0o600 });
  await fx.start();
  const section = await telemetrySection(fx);
  t.truthy(section, 'the Telemetry section is there');
  const problems = (section.problems ?? []) as Array<{ code: string }>;
  t.true(
    problems.some((p) => p.code === 'collector_url_invalid'),
    JSON.stringify(section),
  );
  const status = await agentctl(['status', '--socket', fx.socketPath]);
  t.regex(status.stdout, /CollectorURL is not a URL this agent can use/);
});
