// Issue 17, round 3, items 1-4 and 15: the trust capability against hostile peers of the
// test's own on 127.0.0.1. Hostile TLS servers (real Node TLS servers presenting openssl-made
// certificates: a 67-certificate chain, a 70 KB certificate, a 60 KB subject), a loopback HTTP
// server as the SSRF victim, and a hand-written OCSP "responder" (a hostile test server: no
// real responder answers 10 MB) against agentctl, checkTrust and a real agentd.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { execFile } from 'node:child_process';
import dns from 'node:dns/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { build } from 'plist';
import { checkTrust } from '../../agent/trust/check.js';
import { isLocalAddress } from '../../agent/trust/ocsp.js';
import { maxSsoTargets, ssoTargetsInParser } from '../../agent/trust/sso-targets.js';
import { StatusRegistry } from '../../agent/daemon/status.js';
import { targetLine } from '../../agent/trust/status-view.js';
import { agentctl, createAgentFixture, distRoot, eventually, requestOnce } from '../helpers/agent.js';
import { privateAgentConfig } from '../helpers/private-config.js';
import { missing } from '../helpers/system.js';
import { TestPki } from '../helpers/tls.js';

const run = promisify(execFile);
const needs = missing('openssl');
const it = needs ? test.skip : test.serial;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);

let dir: string;
let configFile: string;
let pki: TestPki;
let keyPem: string;
/** Leaf first: a leaf under 66 CAs, each signed by the next (67 certificates). */
let longChainPem: string;
/** One certificate of over 70 KB (its subject is 1,000 OUs; its issuer's name is short). */
let hugeCertPem: string;
let hugeCertFile: string;
/** A ~60 KB subject: under the 64 KiB certificate limit, so it is evaluated. */
let bigSubjectPem: string;
const closers: Array<() => Promise<void>> = [];

const units = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `/OU=${prefix}${String(i).padStart(5, '0')}${'x'.repeat(50)}`).join('');

async function selfSigned(file: string, subject: string): Promise<string> {
  await run('openssl', [
    'x509',
    '-new',
    '-key',
    path.join(dir, 'key.pem'),
    '-subj',
    subject,
    '-days',
    '30',
    '-out',
    file,
  ]);
  return readFile(file, 'utf8');
}

/** Issued by a CA with a short name, so that only the subject is large. */
async function issuedByShortName(file: string, subject: string): Promise<string> {
  const ca = path.join(dir, 'short-ca.pem');
  await run('openssl', [
    'x509',
    '-new',
    '-force_pubkey',
    path.join(dir, 'pub.pem'),
    '-subj',
    subject,
    '-CA',
    ca,
    '-CAkey',
    path.join(dir, 'key.pem'),
    '-days',
    '30',
    '-out',
    file,
  ]);
  return readFile(file, 'utf8');
}

/** 66 CAs and a leaf, all with one key: template certificates give each its issuer's name, so they are made in parallel. */
async function longChain(): Promise<string> {
  const key = path.join(dir, 'key.pem');
  const pub = path.join(dir, 'pub.pem');
  const ext = path.join(dir, 'ca.ext');
  await writeFile(ext, 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n');
  const n = 67;
  const name = (i: number) => (i === 0 ? '/CN=localhost' : `/CN=hostile-ca-${i}`);
  const template = (i: number) => path.join(dir, `template-${i}.pem`);
  const real = (i: number) => path.join(dir, `chain-${i}.pem`);
  const limit = async <T>(items: number[], fn: (i: number) => Promise<T>) => {
    for (let start = 0; start < items.length; start += 8) await Promise.all(items.slice(start, start + 8).map(fn));
  };
  const all = Array.from({ length: n }, (_, i) => i);
  await limit(all, (i) => selfSigned(template(i), name(i)));
  await limit(all, async (i) => {
    if (i === n - 1) {
      await run('openssl', [
        'x509',
        '-new',
        '-key',
        key,
        '-subj',
        name(i),
        '-days',
        '30',
        '-extfile',
        ext,
        '-out',
        real(i),
      ]);
      return;
    }
    await run('openssl', [
      'x509',
      '-new',
      '-force_pubkey',
      pub,
      '-subj',
      name(i),
      '-CA',
      template(i + 1),
      '-CAkey',
      key,
      '-days',
      '30',
      ...(i === 0 ? [] : ['-extfile', ext]),
      '-out',
      real(i),
    ]);
  });
  return (await Promise.all(all.map((i) => readFile(real(i), 'utf8')))).join('');
}

test.before(async () => {
  if (needs) return;
  ({ dir, configFile } = privateAgentConfig('tg-hostile-trust-', { TrustRevocation: 'soft' }));
  await run('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    path.join(dir, 'key.pem'),
  ]);
  keyPem = await readFile(path.join(dir, 'key.pem'), 'utf8');
  await run('openssl', ['pkey', '-in', path.join(dir, 'key.pem'), '-pubout', '-out', path.join(dir, 'pub.pem')]);
  await selfSigned(path.join(dir, 'short-ca.pem'), '/CN=hostile-ca');
  hugeCertFile = path.join(dir, 'huge.pem');
  [longChainPem, hugeCertPem, bigSubjectPem] = await Promise.all([
    longChain(),
    issuedByShortName(hugeCertFile, `/CN=localhost${units(1000, 'huge')}`),
    issuedByShortName(path.join(dir, 'big-subject.pem'), `/CN=localhost${units(850, 'big')}`),
  ]);
  pki = await TestPki.create();
});
test.after.always(async () => {
  for (const close of closers) await close();
  await pki?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A hostile TLS peer: completes handshakes with whatever chain it is given, answers nothing. */
async function hostileTlsServer(certPem: string): Promise<string> {
  const server = tls.createServer({ cert: certPem, key: keyPem }, (socket) => socket.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** A loopback HTTP server that records what reaches it: the SSRF victim, or a hostile responder. */
async function httpServer(answer: (res: http.ServerResponse) => void): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

interface Report {
  trusted: boolean;
  diagnosis: string;
  findings: string[];
  error: { code: string; message: string } | null;
  revocation: { status: string; code: string | null; requests: Array<{ result: string }> };
  chain: Array<{ subject: string }>;
}

it(
  title('item 1: a peer sending 67 certificates is its own malformed verdict, in agentctl trust and checkTrust'),
  async (t) => {
    t.is(longChainPem.match(/BEGIN CERTIFICATE/g)?.length, 67);
    const url = await hostileTlsServer(longChainPem);
    const report = await checkTrust({ target: url, revocation: 'soft' });
    t.is(report.diagnosis, 'malformed');
    t.is(report.error?.code, 'too_many_certificates');
    t.regex(report.error?.message ?? '', /more than 64 certificates; at most 64 are accepted/);

    const cli = await agentctl(['trust', url, '--config', configFile]);
    t.is(cli.code, 1, cli.stderr);
    t.regex(cli.stdout, /Verdict +\| Not trusted/);
    t.regex(cli.stdout, /Diagnosis +\| malformed/);
    // Rows wrap inside their column at 80 columns (issue 21): read them joined.
    t.regex(cli.stdout.replace(/\n +\| /g, ' '), /at most 64 are accepted \(too_many_certificates\)/);
    t.notRegex(cli.stderr, /RangeError|\n\s+at /);
  },
);

it(
  title('item 1: a 70 KB certificate, from a peer or a file, is malformed with the limit, never an exception'),
  async (t) => {
    const der = Buffer.from(hugeCertPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    t.true(der.length > 70_000, `${der.length} bytes`);
    const url = await hostileTlsServer(hugeCertPem);
    const fromPeer = await checkTrust({ target: url, revocation: 'soft' });
    t.is(fromPeer.diagnosis, 'malformed');
    t.is(fromPeer.error?.code, 'certificate_too_large');
    t.regex(
      fromPeer.error?.message ?? '',
      new RegExp(`certificate 1 of the chain is ${der.length} bytes; at most 65536`),
    );

    for (const target of [url, hugeCertFile]) {
      const cli = await agentctl(['trust', target, '--json', '--config', configFile]);
      t.is(cli.code, 1, cli.stderr);
      const report = JSON.parse(cli.stdout) as Report;
      t.is(report.error?.code, 'certificate_too_large', target);
      t.notRegex(cli.stderr, /RangeError|\n\s+at /);
    }
  },
);

it(title('item 1: a stale verdict says so in the status line'), (t) => {
  t.is(
    targetLine({ trusted: true, findings: ['ok'], stale: true, checked_at: '2026-01-01T00:00:00.000Z' }),
    'trusted: ok (stale: from 2026-01-01T00:00:00.000Z)',
  );
  t.is(targetLine({ trusted: true, findings: ['ok'], stale: false }), 'trusted: ok');
});

it(title('item 2: certificate strings are cut to 1 KiB in the report'), async (t) => {
  const url = await hostileTlsServer(bigSubjectPem);
  const report = await checkTrust({ target: url, revocation: 'off' });
  const der = Buffer.from(bigSubjectPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  t.true(der.length > 55_000 && der.length < 64 * 1024, `${der.length} bytes`);
  t.not(report.at_system_time, null, 'evaluated');
  t.is(report.chain[0]!.subject.length, 1024);
  t.true(report.chain[0]!.subject.endsWith('…'));
  t.true(report.chain[0]!.issuer.length <= 1024);
  t.true((report.hint ?? '').length <= 4096);
  t.true(JSON.stringify(report).length < 16 * 1024, `${JSON.stringify(report).length} characters`);
});

test('item 2: a status section too large for the answer is replaced by its own error; the others stay', async (t) => {
  const registry = new StatusRegistry(1024 * 1024);
  registry.section('clock', () => ({ offset_ms: 12 }));
  registry.section('trust', () => ({ targets: Array.from({ length: 20 }, () => 'x'.repeat(100_000)) }));
  registry.section('small', () => ({ ok: true }));
  const out = await registry.collect();
  t.deepEqual(out.clock, { offset_ms: 12 });
  t.deepEqual(out.small, { ok: true });
  const trust = out.trust as { error: string; error_code: string };
  t.is(trust.error_code, 'section_too_large');
  t.regex(trust.error, /^this section is \d+ bytes, more than the status answer can hold/);
  t.true(JSON.stringify(out).length < 1024 * 1024);
});

it(
  title('items 1 and 2: in agentd, hostile targets are each their own verdict and status keeps every section'),
  async (t) => {
    const good = await pki.issueLeaf();
    const longUrl = await hostileTlsServer(longChainPem);
    const hugeUrl = await hostileTlsServer(hugeCertPem);
    const bigUrl = await hostileTlsServer(bigSubjectPem);
    // Seven targets with a ~60 KB subject each (one server, seven paths): ~1.1 MB before.
    const bigTargets = Array.from({ length: 7 }, (_, i) => `${bigUrl}t${i}`);
    const fixture = createAgentFixture('tg-hostile-trust-d-');
    t.teardown(() => fixture.cleanup());
    fixture.writeConfig({
      TrustTargets: [good.chainFile, longUrl, hugeUrl, ...bigTargets],
      TrustCAFiles: [pki.caFile],
      TrustRevocation: 'soft',
      TrustCheckIntervalSeconds: 3600,
      MeasureIntervalSeconds: 3600,
    });
    await fixture.start();
    type Entry = {
      target: string;
      trusted: boolean;
      diagnosis: string;
      error: { code: string; message: string } | null;
      leaf: { subject: string } | null;
      stale: boolean;
    };
    const section = await eventually(async () => {
      const response = await requestOnce(fixture.socketPath, { request: 'status' });
      const result = response.result as { trust?: { targets: Entry[] }; clock?: unknown };
      return result?.trust?.targets?.length === 10 ? result : undefined;
    }, 'the first trust round');
    const targets = section.trust!.targets;
    t.truthy(section.clock, 'the clock section is in the answer');
    t.deepEqual(
      targets.slice(0, 3).map((e) => [e.target, e.trusted, e.diagnosis, e.error?.code ?? null]),
      [
        [good.chainFile, true, 'ok', null],
        [longUrl, false, 'malformed', 'too_many_certificates'],
        [hugeUrl, false, 'malformed', 'certificate_too_large'],
      ],
    );
    for (const e of targets.slice(3)) {
      t.is(e.leaf?.subject.length, 1024);
      t.false(e.stale);
    }
    const status = await agentctl(['status', '--socket', fixture.socketPath]);
    // Plain words in the human view (issue 21); the code stays in status --json.
    t.regex(status.stdout, new RegExp(`${longUrl.replaceAll('.', '\\.')} — NOT trusted: certificates unusable`));
    t.regex(status.stdout, />>> Clock\n/);
    const logged = fixture.logLines().map((l) => String(l.message));
    for (const target of [good.chainFile, longUrl, hugeUrl, ...bigTargets])
      t.true(
        logged.some((m) => m.startsWith(`trust ${target}: `)),
        `a log line for ${target}`,
      );
  },
);

it(title('item 3: an untrusted peer never makes root POST to the responder it names'), async (t) => {
  const victim = await httpServer((res) => res.end('deleted everything'));
  // Self-signed, naming the victim as its OCSP responder.
  const ext = path.join(dir, 'ssrf.ext');
  await writeFile(ext, `authorityInfoAccess=OCSP;URI:${victim.url}/ssrf-admin-endpoint?delete=all\n`);
  const file = path.join(dir, 'ssrf.pem');
  await run('openssl', [
    'x509',
    '-new',
    '-key',
    path.join(dir, 'key.pem'),
    '-subj',
    '/CN=localhost',
    '-days',
    '30',
    '-extfile',
    ext,
    '-out',
    file,
  ]);
  const url = await hostileTlsServer(await readFile(file, 'utf8'));
  for (const allow of [false, true]) {
    const report = await checkTrust({ target: url, revocation: 'soft', ocspAllowLocal: allow });
    t.not(report.at_system_time, null, 'evaluated');
    t.is(report.revocation.status, 'not_checked');
    t.is(report.revocation.code, 'chain_not_trusted');
    t.deepEqual(report.revocation.requests, []);
  }
  t.deepEqual(victim.seen, []);
});

it(
  title('item 3: a trusted chain asks no loopback or link-local responder unless configured, and reports it'),
  async (t) => {
    const victim = await httpServer((res) => res.end('deleted everything'));
    const named = [`${victim.url}/ssrf-admin-endpoint?delete=all`, `http://localhost:${new URL(victim.url).port}/x`];
    for (const ocspUrl of named) {
      const leaf = await pki.issueLeaf({ ocspUrl });
      const anchors = [Buffer.from(new (await import('node:crypto')).X509Certificate(pki.root.certPem).raw)];
      const report = await checkTrust({ target: leaf.chainFile, anchors, revocation: 'soft' });
      t.true(report.trusted, ocspUrl);
      t.deepEqual(report.findings, ['ok', 'revocation_unknown']);
      t.is(report.revocation.code, 'responder_not_allowed');
      t.deepEqual(report.revocation.requests, [
        { certificate: 0, responder: ocspUrl, result: 'responder_not_allowed' },
      ]);
      const required = await checkTrust({ target: leaf.chainFile, anchors, revocation: 'require' });
      t.false(required.trusted);
    }
    t.deepEqual(victim.seen, []);
    // With TrustOCSPAllowLocal the request is made (and reported).
    const leaf = await pki.issueLeaf({ ocspUrl: named[0] });
    const anchors = [Buffer.from(new (await import('node:crypto')).X509Certificate(pki.root.certPem).raw)];
    const allowed = await checkTrust({ target: leaf.chainFile, anchors, revocation: 'soft', ocspAllowLocal: true });
    t.deepEqual(allowed.revocation.requests, [{ certificate: 0, responder: named[0], result: 'answered' }]);
    t.deepEqual(victim.seen, ['POST /ssrf-admin-endpoint?delete=all']);
  },
);

test('item 3: loopback, link-local and unspecified addresses are local; others are not', async (t) => {
  for (const a of ['127.0.0.1', '127.5.6.7', '::1', '::ffff:127.0.0.1', '169.254.169.254', 'fe80::1', '0.0.0.0', '::'])
    t.true(isLocalAddress(a), a);
  for (const a of ['10.0.0.1', '192.168.1.1', '8.8.8.8', '2001:db8::1', '::ffff:10.0.0.1'])
    t.false(isLocalAddress(a), a);
  // A name that resolves to loopback (Debian maps the host name to 127.0.1.1) is refused at connect time.
  const name = os.hostname();
  const addresses = await dns.lookup(name, { all: true }).catch(() => []);
  if (!addresses.length || !addresses.every((a) => isLocalAddress(a.address))) {
    t.log(`${name} does not resolve to loopback here; the name case is not shown`);
    return;
  }
  const { fetchOcsp } = await import('../../agent/trust/ocsp.js');
  const victim = await httpServer((res) => res.end('x'));
  const result = await fetchOcsp(`http://${name}:${new URL(victim.url).port}/`, Buffer.from('r'), 5000);
  t.like(result, { ok: false, code: 'responder_not_allowed' });
  t.deepEqual(victim.seen, []);
});

it(title('item 4: an oversized OCSP answer is revocation_unknown; soft stays trusted, require refuses'), async (t) => {
  const hostile = await httpServer((res) => {
    res.writeHead(200, { 'content-type': 'application/ocsp-response' });
    res.on('error', () => undefined);
    res.end(Buffer.alloc(200 * 1024, 0x30));
  });
  const leaf = await pki.issueLeaf({ ocspUrl: `${hostile.url}/` });
  const anchors = [Buffer.from(new (await import('node:crypto')).X509Certificate(pki.root.certPem).raw)];
  const soft = await checkTrust({ target: leaf.chainFile, anchors, revocation: 'soft', ocspAllowLocal: true });
  t.true(soft.trusted);
  t.deepEqual(soft.findings, ['ok', 'revocation_unknown']);
  t.is(soft.revocation.code, 'response_too_large');
  t.deepEqual(soft.revocation.requests, [
    { certificate: 0, responder: `${hostile.url}/`, result: 'response_too_large' },
  ]);
  const required = await checkTrust({ target: leaf.chainFile, anchors, revocation: 'require', ocspAllowLocal: true });
  t.false(required.trusted);
  t.is(required.diagnosis, 'revocation_unknown');
  t.not(required.at_system_time, null, 'evaluated: exit 2, not 1');
});

test('item 15: profiles output is parsed in the parser process, and the SSO targets are bounded', async (t) => {
  const payloads = Array.from({ length: 200 }, (_, i) => ({
    PayloadType: 'com.apple.extensiblesso',
    PayloadContent: { Type: 'Redirect', URLs: [`https://idp-${String(i).padStart(3, '0')}.example/`] },
  }));
  const xml = build({ _computerlevel: [{ ProfileItems: payloads }] });
  const answer = await ssoTargetsInParser(Buffer.from(xml));
  t.is(answer.targets.length, maxSsoTargets);
  t.is(answer.leftOut, 200 - maxSsoTargets);
  t.is(answer.targets[0], 'https://idp-000.example/');

  // The calling process never loads the XML parser: a process of its own, traced.
  const trace = await mkdtemp(path.join(os.tmpdir(), 'tg-sso-trace-'));
  t.teardown(() => rm(trace, { recursive: true, force: true }));
  const traceFile = path.join(trace, 'trace');
  const input = path.join(trace, 'profiles.xml');
  await writeFile(input, xml);
  const module = path.join(distRoot, 'agent', 'trust', 'sso-targets.js');
  const hooks = path.join(distRoot, '..', 'test', 'helpers', 'import-trace.mjs');
  const script = `const m = await import(${JSON.stringify(module)}); const fs = await import('node:fs');
const a = await m.ssoTargetsInParser(fs.readFileSync(${JSON.stringify(input)})); console.log(a.targets.length);`;
  const child = spawnSync(process.execPath, ['--import', hooks, '--input-type=module', '-e', script], {
    env: { ...process.env, TG_IMPORT_TRACE: traceFile },
    encoding: 'utf8',
  });
  t.is(child.stdout.trim(), String(maxSsoTargets), child.stderr);
  const loaded = await readFile(traceFile, 'utf8');
  t.regex(loaded, /sso-targets\.js/);
  t.notRegex(loaded, /node_modules\/(plist|@xmldom)/);
});
