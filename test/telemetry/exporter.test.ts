// The OTLP/HTTP exporter against a real collector (nginx on loopback, test/helpers/collector.ts):
// gzip, bearer token from a root-only file, TLS with CollectorCAFile and a client certificate,
// 503/429 with Retry-After, 400 dead-lettered, a collector that never answers timed out, one
// that is down reported unreachable; and the response classification on its own.
import test from 'ava';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { encodeStoredEvent, prepareEvent } from '../../agent/telemetry/events.js';
import {
  classifyResponse,
  describeCollector,
  logsEndpoint,
  OtlpHttpExporter,
  type OtlpExporterOptions,
} from '../../agent/telemetry/exporter.js';
import type { SpoolRecord } from '../../agent/telemetry/spool.js';
import { fullJitterDelay, parseRetryAfter } from '../../agent/telemetry/backoff.js';
import { nginxPath, startCollector, type Collector } from '../helpers/collector.js';
import { logsRequestProblems } from '../helpers/otlp-schema.js';

const withNginx = nginxPath ? test.serial : test.skip;
const needs = nginxPath ? '' : ' [needs nginx-light]';

function records(n: number, firstSeq = 1): SpoolRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const p = prepareEvent({ name: 'telemetry.test', severity: 'info', attributes: { index: i } });
    if (!p.ok) throw new Error('bad test event');
    return { seq: firstSeq + i, payload: encodeStoredEvent(p.event) };
  });
}

function secretsDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-secrets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeSecret(dir: string, name: string, content: string, mode = 0o600): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
}

const base = (over: Partial<OtlpExporterOptions>): OtlpExporterOptions => ({
  collectorUrl: 'http://127.0.0.1:9',
  timeoutMs: 5000,
  resource: { 'service.name': 'trustguard-agent', 'host.id': 'test-host' },
  scopeVersion: '0.1.0',
  userAgent: 'TrustGuard/test',
  ...over,
});

let collector: Collector;
test.before(async () => {
  if (nginxPath) collector = await startCollector();
});
test.after.always(async () => {
  await collector?.cleanup();
});

const signal = new AbortController().signal;

withNginx(
  `gzip-encoded OTLP JSON with the bearer token from a root-only file; the schema accepts the body${needs}`,
  async (t) => {
    const dir = secretsDir(t);
    const tokenFile = writeSecret(dir, 'token', `${collector.token}\n`);
    const exporter = new OtlpHttpExporter(base({ collectorUrl: collector.origin, bearerTokenFile: tokenFile }));
    const before = collector.requests().length;
    const outcome = await exporter.send(records(25, 100), signal);
    exporter.close();
    t.deepEqual(outcome, { kind: 'delivered', unreadable: 0 });
    const [request] = (await collector.waitForRequests(before + 1)).slice(before);
    t.is(request!.path, '/v1/logs');
    t.is(request!.contentEncoding, 'gzip');
    t.is(request!.contentType, 'application/json');
    t.is(request!.authorization, 'match');
    t.is(request!.raw![0], 0x1f, 'gzip magic');
    const body = JSON.parse(request!.body!.toString()) as {
      resourceLogs: Array<{
        scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string; value: { intValue?: string } }> }> }>;
      }>;
    };
    t.deepEqual(logsRequestProblems(body), []);
    const seqs = body.resourceLogs[0]!.scopeLogs[0]!.logRecords.map(
      (r) => r.attributes.find((a) => a.key === 'event.sequence')!.value.intValue,
    );
    t.deepEqual(
      seqs,
      Array.from({ length: 25 }, (_, i) => String(100 + i)),
    );
  },
);

withNginx(
  `a token file others can read, or a link, is refused: nothing is sent and the batch is kept${needs}`,
  async (t) => {
    const dir = secretsDir(t);
    const readable = writeSecret(dir, 'token', collector.token, 0o644);
    const before = collector.requests().length;
    const exporter = new OtlpHttpExporter(base({ collectorUrl: collector.origin, bearerTokenFile: readable }));
    const outcome = await exporter.send(records(1), signal);
    t.like(outcome, { kind: 'retry', code: 'token_file_unsafe' });
    const link = path.join(dir, 'link');
    symlinkSync(writeSecret(dir, 'real', collector.token), link);
    t.like(
      await new OtlpHttpExporter(base({ collectorUrl: collector.origin, bearerTokenFile: link })).send(
        records(1),
        signal,
      ),
      { kind: 'retry', code: 'token_file_unsafe' },
    );
    t.like(
      await new OtlpHttpExporter(
        base({ collectorUrl: collector.origin, bearerTokenFile: path.join(dir, 'absent') }),
      ).send(records(1), signal),
      { kind: 'retry', code: 'token_file_missing' },
    );
    const bad = writeSecret(dir, 'bad', 'two words\r\nX-Injected: 1');
    const invalid = await new OtlpHttpExporter(base({ collectorUrl: collector.origin, bearerTokenFile: bad })).send(
      records(1),
      signal,
    );
    t.like(invalid, { kind: 'retry', code: 'bearer_token_invalid' });
    t.false(JSON.stringify(invalid).includes('two words'), 'the token is never echoed');
    t.is(collector.requests().length, before, 'nothing reached the collector');
  },
);

withNginx(
  `TLS: the collector's CA from CollectorCAFile, a client certificate; without the CA it is a TLS failure (retried)${needs}`,
  async (t) => {
    const dir = secretsDir(t);
    const caFile = writeSecret(dir, 'ca.pem', collector.pki.root.certPem, 0o644);
    const certFile = writeSecret(dir, 'client.pem', collector.clientCertificate.certPem, 0o644);
    const keyFile = writeSecret(dir, 'client.key', collector.clientCertificate.keyPem, 0o600);
    const before = collector.requests().length;
    const trusted = new OtlpHttpExporter(
      base({ collectorUrl: collector.tlsOrigin, caFile, clientCertificateFile: certFile, clientKeyFile: keyFile }),
    );
    t.like(await trusted.send(records(3), signal), { kind: 'delivered' });
    trusted.close();
    const [request] = (await collector.waitForRequests(before + 1)).slice(before);
    t.true(request!.tls);
    t.is(request!.clientVerify, 'SUCCESS');
    t.is(request!.clientSubject, 'CN=device-client');
    t.is(request!.authorization, 'absent');
    const untrusted = new OtlpHttpExporter(base({ collectorUrl: collector.tlsOrigin }));
    const outcome = await untrusted.send(records(1), signal);
    untrusted.close();
    t.like(outcome, { kind: 'retry', code: 'collector_tls' });
    const notPem = writeSecret(dir, 'not.pem', 'hello', 0o644);
    t.like(
      await new OtlpHttpExporter(base({ collectorUrl: collector.tlsOrigin, caFile: notPem })).send(records(1), signal),
      { kind: 'retry', code: 'ca_file_invalid' },
    );
    const writable = writeSecret(dir, 'ca-writable.pem', collector.pki.root.certPem, 0o666);
    t.like(
      await new OtlpHttpExporter(base({ collectorUrl: collector.tlsOrigin, caFile: writable })).send(
        records(1),
        signal,
      ),
      { kind: 'retry', code: 'ca_file_unsafe' },
    );
  },
);

withNginx(`503 and 429 with Retry-After are retried after it; 400 is dead-lettered${needs}`, async (t) => {
  const exporter = new OtlpHttpExporter(base({ collectorUrl: `${collector.origin}/` }));
  t.teardown(() => collector.setMode('ok'));
  collector.setMode('503');
  t.like(await exporter.send(records(2), signal), {
    kind: 'retry',
    code: 'collector_unavailable',
    status: 503,
    retryAfterMs: 1000,
  });
  collector.setMode('429');
  t.like(await exporter.send(records(2), signal), {
    kind: 'retry',
    code: 'collector_throttled',
    status: 429,
    retryAfterMs: 1000,
  });
  collector.setMode('400');
  const dead = await exporter.send(records(2), signal);
  t.like(dead, { kind: 'dead_letter', code: 'collector_rejected', status: 400 });
  t.regex((dead as { detail: string }).detail, /HTTP 400: bad request \(test\)/);
  collector.setMode('ok');
  t.like(await exporter.send(records(2), signal), { kind: 'delivered' });
  exporter.close();
});

withNginx(`a collector that is down is unreachable (retried)${needs}`, async (t) => {
  const exporter = new OtlpHttpExporter(base({ collectorUrl: collector.origin }));
  await collector.stop();
  try {
    t.like(await exporter.send(records(1), signal), { kind: 'retry', code: 'collector_unreachable' });
  } finally {
    await collector.start();
  }
  t.like(await exporter.send(records(1), signal), { kind: 'delivered' });
  exporter.close();
});

test('a collector that accepts the connection and never answers is timed out (retried)', async (t) => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    sockets.forEach((s) => s.destroy());
    server.close();
  });
  const { port } = server.address() as net.AddressInfo;
  const exporter = new OtlpHttpExporter(base({ collectorUrl: `http://127.0.0.1:${port}`, timeoutMs: 300 }));
  const started = performance.now();
  const outcome = await exporter.send(records(1), signal);
  t.like(outcome, { kind: 'retry', code: 'collector_timeout' });
  t.true(performance.now() - started >= 290);
  // After a stall of this process the deadline can fire before the server's accept is handled.
  for (let i = 0; i < 100 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(sockets.length, 1, 'the connection was made');
  exporter.close();
});

test('an abort (the agent stopping) ends a send at once and keeps the batch', async (t) => {
  const server = net.createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const controller = new AbortController();
  const exporter = new OtlpHttpExporter(base({ collectorUrl: `http://127.0.0.1:${port}`, timeoutMs: 60_000 }));
  setTimeout(() => controller.abort(), 100);
  t.like(await exporter.send(records(1), controller.signal), { kind: 'retry' });
  exporter.close();
});

test('unreadable spool records are counted, not sent', async (t) => {
  const exporter = new OtlpHttpExporter(base({}));
  const outcome = await exporter.send([{ seq: 1, payload: Buffer.from('not json') }], signal);
  t.deepEqual(outcome, { kind: 'delivered', unreadable: 1 });
  const encoded = await exporter.encode([...records(2), { seq: 3, payload: Buffer.from('{}') }]);
  t.is(encoded.count, 2);
  t.is(encoded.unreadable, 1);
});

test('responses: 2xx with partialSuccess is done (rejected counted); 502/503/504/429 retried; other 4xx/5xx/3xx final', (t) => {
  t.deepEqual(classifyResponse(200, {}, '{"partialSuccess":{}}'), { kind: 'delivered' });
  t.deepEqual(classifyResponse(200, {}, '{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"x"}}'), {
    kind: 'delivered',
    rejected: 3,
  });
  t.deepEqual(classifyResponse(202, {}, 'garbage'), { kind: 'delivered' });
  for (const status of [502, 503, 504])
    t.like(classifyResponse(status, {}, ''), { kind: 'retry', code: 'collector_unavailable', status });
  t.like(classifyResponse(429, { 'retry-after': '7' }, ''), {
    kind: 'retry',
    code: 'collector_throttled',
    retryAfterMs: 7000,
  });
  t.like(classifyResponse(401, {}, '{"code":16,"message":"no\\ntoken"}'), {
    kind: 'dead_letter',
    code: 'collector_rejected',
    status: 401,
    detail: 'HTTP 401: no token',
  });
  t.like(classifyResponse(413, {}, ''), { kind: 'dead_letter', code: 'collector_rejected' });
  t.like(classifyResponse(500, {}, ''), { kind: 'dead_letter', code: 'collector_failed' });
  t.like(classifyResponse(301, { location: 'http://elsewhere' }, ''), {
    kind: 'dead_letter',
    code: 'collector_rejected',
  });
});

test('Retry-After: seconds, or an HTTP date measured against the response Date (not our clock), capped at an hour', (t) => {
  t.is(parseRetryAfter('120', undefined, 0), 120_000);
  t.is(parseRetryAfter('999999', undefined, 0), 3_600_000);
  t.is(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', 'Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2030, 0, 1)), 30_000);
  t.is(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', undefined, Date.UTC(2015, 9, 21, 7, 28, 20)), 10_000);
  t.is(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', 'Wed, 21 Oct 2015 07:29:00 GMT', 0), 0);
  t.is(parseRetryAfter(undefined, undefined, 0), undefined);
  t.is(parseRetryAfter('-1', undefined, 0), undefined);
  t.is(parseRetryAfter('soon', undefined, 0), undefined);
});

test('full jitter: uniform below base·2^attempt, capped at an hour', (t) => {
  t.is(
    fullJitterDelay(0, () => 0.5),
    500,
  );
  t.is(
    fullJitterDelay(3, () => 0.999_999),
    7999,
  );
  t.is(
    fullJitterDelay(40, () => 0.999_999),
    3_599_996,
  );
  t.is(
    fullJitterDelay(10_000, () => 0),
    0,
  );
});

test('endpoints: /v1/logs is appended to a base URL; status shows no credentials', (t) => {
  t.is(logsEndpoint('https://otel.example.com').toString(), 'https://otel.example.com/v1/logs');
  t.is(logsEndpoint('https://otel.example.com/prefix/').toString(), 'https://otel.example.com/prefix/v1/logs');
  t.is(logsEndpoint('https://otel.example.com/v1/logs').toString(), 'https://otel.example.com/v1/logs');
  t.is(describeCollector('https://user:pw@otel.example.com/?key=secret'), 'https://otel.example.com/v1/logs');
});
