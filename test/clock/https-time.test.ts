import test from 'ava';
import fc from 'fast-check';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureHttpsTime, parseHttpDate, parseJsonTime, type VerifyChain } from '../../agent/clock/https-time.js';
import type { SourceMeasurement, SourceSample } from '../../agent/clock/types.js';
import { missing } from '../helpers/system.js';
import {
  skewedDateHandler,
  startHttpsServer,
  pkiForFile,
  type Handler,
  type Leaf,
  type RunningHttpsServer,
} from '../helpers/tls.js';

const needs = missing('openssl');
const it = needs ? test.skip : test.serial;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);

const shared = pkiForFile(test, Boolean(needs));

async function serve(
  t: { teardown(fn: () => Promise<void>): void },
  handler: Handler,
  certificate: Leaf = shared.leaf,
): Promise<RunningHttpsServer> {
  const server = await startHttpsServer({ certificate, handler });
  t.teardown(() => server.stop());
  return server;
}

function assertSample(t: { fail(m: string): void }, m: SourceMeasurement): asserts m is SourceSample {
  if (!m.ok) t.fail(`expected a sample, got: ${m.error}`);
}

for (const skewSeconds of [92, 0, -3600]) {
  it(title(`a server whose Date is ${skewSeconds} s off is measured within its stated uncertainty`), async (t) => {
    const server = await serve(t, skewedDateHandler(skewSeconds * 1000));
    const m = await measureHttpsTime({ url: `${server.origin}/`, caFile: shared.pki.caFile });
    assertSample(t, m);
    t.log(`offset ${m.offsetMs.toFixed(1)} ms ± ${m.uncertaintyMs.toFixed(1)} ms, rtt ${m.delayMs.toFixed(2)} ms`);
    t.true(
      Math.abs(m.offsetMs - skewSeconds * 1000) <= m.uncertaintyMs,
      `offset ${m.offsetMs} not within ±${m.uncertaintyMs} of ${skewSeconds * 1000}`,
    );
    t.true(m.uncertaintyMs >= 500 && m.uncertaintyMs === m.delayMs / 2 + 500);
    t.is(m.kind, 'https');
    t.is(m.stratum, null);
    t.deepEqual(
      server.requests.map((r) => r.method),
      ['HEAD'],
    );
  });
}

it(title('HEAD refused with 405 falls back to GET'), async (t) => {
  const server = await serve(t, skewedDateHandler(92_000, { allowHead: false }));
  const m = await measureHttpsTime({ url: `${server.origin}/time`, caFile: shared.pki.caFile });
  assertSample(t, m);
  t.true(Math.abs(m.offsetMs - 92_000) <= m.uncertaintyMs);
  t.is(m.samplesSent, 2);
  t.deepEqual(server.requests, [
    { method: 'HEAD', url: '/time' },
    { method: 'GET', url: '/time' },
  ]);
});

it(title('a server with no Date header is rejected'), async (t) => {
  const server = await serve(t, (_req, res) => {
    res.sendDate = false;
    res.end();
  });
  const m = await measureHttpsTime({ url: server.origin, caFile: shared.pki.caFile });
  t.false(m.ok);
  t.is(!m.ok && m.error, 'server sent no Date header');
  t.is(!m.ok && m.code, 'date_missing');
});

for (const bad of [
  'yesterday',
  'Sun, 06 Nov 1994 08:49:37 UTC',
  'Mon, 06 Nov 1994 08:49:37 GMT',
  'Sun, 31 Nov 1994 08:49:37 GMT',
  '1994-11-06T08:49:37Z',
]) {
  it(title(`a malformed Date header is rejected: ${bad}`), async (t) => {
    const server = await serve(t, (_req, res) => {
      res.setHeader('Date', bad);
      res.end();
    });
    const m = await measureHttpsTime({ url: server.origin, caFile: shared.pki.caFile });
    t.false(m.ok);
    t.regex(!m.ok ? m.error : '', /^server's Date header ".*" is malformed: /);
    t.is(!m.ok && m.code, 'date_malformed');
  });
}

it(title('an unknown root is not trusted'), async (t) => {
  const server = await serve(t, skewedDateHandler(0));
  const m = await measureHttpsTime({ url: server.origin });
  t.false(m.ok);
  t.regex(!m.ok ? m.error : '', /^TLS certificate of 127\.0\.0\.1:\d+ is not trusted/);
  t.is(!m.ok && m.code, 'tls_untrusted');
});

it(title('a certificate for another host is not trusted'), async (t) => {
  const other = await shared.pki.issueLeaf({ commonName: 'other.example', sans: ['DNS:other.example'] });
  const server = await serve(t, skewedDateHandler(0), other);
  const m = await measureHttpsTime({ url: server.origin, caFile: shared.pki.caFile });
  t.false(m.ok);
  t.regex(!m.ok ? m.error : '', /not trusted.*(altnames|Hostname)/i);
  t.is(!m.ok && m.code, 'tls_untrusted');
});

it(title("a server whose time lies outside its certificate's validity is rejected"), async (t) => {
  const server = await serve(t, skewedDateHandler(2 * 365 * 24 * 3600 * 1000));
  const m = await measureHttpsTime({ url: server.origin, caFile: shared.pki.caFile });
  t.false(m.ok);
  t.regex(!m.ok ? m.error : '', /^server time \d{4}-.* lies outside the validity of localhost/);
  t.is(!m.ok && m.code, 'cert_validity');
});

it(title('verifyChain receives the chain, the server time and the host, and decides'), async (t) => {
  const server = await serve(t, skewedDateHandler(92_000));
  const calls: Array<{ subjects: string[]; atTimeMs: number; hostname: string }> = [];
  const verifyChain: VerifyChain = (certificates, atTimeMs, hostname) => {
    calls.push({ subjects: certificates.map((der) => new X509Certificate(der).subject), atTimeMs, hostname });
    return hostname === '127.0.0.1' ? { ok: true } : { ok: false, reason: 'wrong host' };
  };
  // No CA file: Node's verification is off, the hook alone decides.
  const before = Date.now();
  const m = await measureHttpsTime({ url: server.origin, verifyChain });
  const after = Date.now();
  assertSample(t, m);
  t.is(calls.length, 1);
  t.deepEqual(calls[0]!.subjects, ['CN=localhost', 'CN=TrustGuard Test Intermediate CA']);
  // The server's time (its whole-second Date, centred): inside the request, 92 s ahead.
  const at = calls[0]!.atTimeMs - 92_000;
  t.true(at >= before - 1000 && at <= after + 1000, `${at} outside [${before}, ${after}] ± 1 s`);
  const refused = await measureHttpsTime({
    url: server.origin,
    verifyChain: () => ({ ok: false, reason: 'certificate expired at that time' }),
  });
  t.is(
    !refused.ok && refused.error,
    `TLS certificate of 127.0.0.1:${server.port} is not trusted at the server's time: certificate expired at that time`,
  );
  t.is(!refused.ok && refused.code, 'tls_untrusted');
});

it(title('a JSON time field is used when configured'), async (t) => {
  const server = await serve(t, (_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ data: { now: new Date(Date.now() + 92_000).toISOString() } }));
  });
  const m = await measureHttpsTime({ url: server.origin, caFile: shared.pki.caFile, jsonField: 'data.now' });
  assertSample(t, m);
  t.true(Math.abs(m.offsetMs - 92_000) <= m.uncertaintyMs);
  t.is(m.uncertaintyMs, m.delayMs / 2 + 1, 'millisecond resolution: half the round trip plus 1 ms');
  t.deepEqual(
    server.requests.map((r) => r.method),
    ['GET'],
  );
  const missingField = await measureHttpsTime({
    url: server.origin,
    caFile: shared.pki.caFile,
    jsonField: 'data.later',
  });
  t.is(!missingField.ok && missingField.error, 'JSON response has no field "data.later"');
  t.is(!missingField.ok && missingField.code, 'json_field_missing');
});

it(title('a JSON time URL that fails says why with a code'), async (t) => {
  const server = await serve(t, (req, res) => {
    const now = new Date().toISOString();
    if (req.url === '/forbidden') res.statusCode = 403;
    if (req.url === '/not-json') return void res.end('<html>hello</html>');
    if (req.url === '/bad-time') return void res.end(JSON.stringify({ now: 'yesterday' }));
    if (req.url === '/huge') return void res.end(JSON.stringify({ now, pad: 'x'.repeat(100_000) }));
    res.end(JSON.stringify({ now }));
  });
  const codeOf = async (pathname: string): Promise<string> => {
    const m = await measureHttpsTime({
      url: `${server.origin}${pathname}`,
      caFile: shared.pki.caFile,
      jsonField: 'now',
    });
    if (!m.ok) t.log(`${pathname}: ${m.error}`);
    return m.ok ? 'ok' : m.code;
  };
  t.is(await codeOf('/'), 'ok');
  t.is(await codeOf('/forbidden'), 'http_status');
  t.is(await codeOf('/not-json'), 'json_invalid');
  t.is(await codeOf('/bad-time'), 'json_time_invalid');
  t.is(await codeOf('/huge'), 'body_too_large');
});

it(title('a server that never answers times out'), async (t) => {
  const server = await serve(t, () => {
    // never responds
  });
  const m = await measureHttpsTime({ url: server.origin, caFile: shared.pki.caFile, timeoutMs: 300 });
  t.false(m.ok);
  t.regex(!m.ok ? m.error : '', /no response within the time limit/);
  t.is(!m.ok && m.code, 'timeout');
});

test('bad URLs and CA files are reported, not thrown', async (t) => {
  type Failed = { error: string; code: string };
  const notUrl = (await measureHttpsTime({ url: 'not a url' })) as Failed;
  t.is(notUrl.error, '"not a url" is not a URL');
  t.is(notUrl.code, 'url_invalid');
  const http = (await measureHttpsTime({ url: 'http://example.com/' })) as Failed;
  t.is(http.error, '"http://example.com/" is not an https URL');
  t.is(http.code, 'url_invalid');
  const noCa = (await measureHttpsTime({ url: 'https://127.0.0.1:1/', caFile: '/nonexistent.pem' })) as Failed;
  t.regex(noCa.error, /cannot read CA file \/nonexistent\.pem: ENOENT/);
  t.is(noCa.code, 'ca_file_unreadable');
  const refused = (await measureHttpsTime({ url: 'https://127.0.0.1:1/' })) as Failed;
  t.regex(refused.error, /connection to 127\.0\.0\.1:1 refused/);
  t.is(refused.code, 'connection_refused');
  t.is(((await measureHttpsTime({ url: 'https://127.0.0.1:1/', timeoutMs: -1 })) as Failed).code, 'options_invalid');
});

test('parseHttpDate accepts the three forms of RFC 9110', (t) => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
  t.deepEqual(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), { ok: true, ms: expected });
  t.deepEqual(parseHttpDate('Sun Nov  6 08:49:37 1994'), { ok: true, ms: expected });
  const rfc850 = parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT');
  t.deepEqual(rfc850, { ok: true, ms: expected });
});

test('property: every Date.prototype.toUTCString output parses back exactly', (t) => {
  fc.assert(
    fc.property(
      fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
      (d) => {
        const r = parseHttpDate(d.toUTCString());
        return r.ok && r.ms === Math.floor(d.getTime() / 1000) * 1000;
      },
    ),
  );
  t.pass();
});

test('property: parseHttpDate never throws and accepts only well-formed dates', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      const r = parseHttpDate(s);
      if (!r.ok) return typeof r.reason === 'string' && r.reason.length > 0;
      return new Date(r.ms).toUTCString() === s || /^[A-Z][a-z]+(day)?[, ]/.test(s);
    }),
  );
  t.pass();
});

test('parseJsonTime reads ISO strings and Unix seconds or milliseconds', (t) => {
  t.deepEqual(parseJsonTime('2024-03-01T12:00:00.250Z'), {
    ok: true,
    ms: Date.UTC(2024, 2, 1, 12, 0, 0, 250),
    resolutionMs: 1,
  });
  t.deepEqual(parseJsonTime('2024-03-01T13:00:00+01:00'), {
    ok: true,
    ms: Date.UTC(2024, 2, 1, 12),
    resolutionMs: 1000,
  });
  t.deepEqual(parseJsonTime(1_709_294_400), { ok: true, ms: 1_709_294_400_000, resolutionMs: 1000 });
  t.deepEqual(parseJsonTime(1_709_294_400_123), { ok: true, ms: 1_709_294_400_123, resolutionMs: 1 });
  t.false(parseJsonTime('2024-03-01 noon').ok);
  t.false(parseJsonTime('2024-03-01T12:00:00').ok, 'no time zone');
  t.false(parseJsonTime(null).ok);
  t.false(parseJsonTime(-5).ok);
});

it(
  title(
    '(SPEC §1.8) a CA file another user could write, or a link to one, is not used: ca_file_unsafe, nothing fetched',
  ),
  async (t) => {
    let requests = 0;
    const server = await serve(t, (req, res) => {
      requests++;
      skewedDateHandler(0)(req, res);
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-https-ca-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const writable = path.join(dir, 'writable.pem');
    copyFileSync(shared.pki.caFile, writable);
    chmodSync(writable, 0o666);
    const linked = path.join(dir, 'linked.pem');
    symlinkSync(shared.pki.caFile, linked);
    for (const caFile of [writable, linked]) {
      const m = await measureHttpsTime({ url: server.origin, caFile });
      t.false(m.ok, caFile);
      if (!m.ok) {
        t.is(m.code, 'ca_file_unsafe', m.error);
        t.true(m.error.includes(caFile), m.error);
      }
    }
    t.is(requests, 0, 'no request is made with an untrusted CA file');
    // The same file, root's and writable only by root, is used.
    chmodSync(writable, 0o644);
    const m = await measureHttpsTime({ url: server.origin, caFile: writable });
    t.true(m.ok, m.ok ? '' : m.error);
  },
);
