// Revocation (issue 10, third acceptance point) against a real OCSP responder, `openssl ocsp
// -index … -port …` answering from the test CA's database: a revoked leaf is revoked under soft
// and require, a good one ok; with the responder stopped, soft reports revocation_unknown and
// still trusts, require does not. A responder that answers garbage or far too much is handled.
// The responders listen on loopback, so the configuration allows it (TrustOCSPAllowLocal).
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { checkTrust } from '../../agent/trust/check.js';
import { agentctl } from '../helpers/agent.js';
import { freeTcpPort, startOcspResponder, type RunningOcspResponder } from '../helpers/ocsp.js';
import { missing } from '../helpers/system.js';
import { skewedDateHandler, startHttpsServer, TestPki, type Leaf, type RunningHttpsServer } from '../helpers/tls.js';
import { privateAgentConfig } from '../helpers/private-config.js';

const needs = missing('openssl');
const it = needs ? test.skip : test.serial;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);

let pki: TestPki;
let dir: string;
let configFile: string;
let responder: RunningOcspResponder;
let good: Leaf;
let revoked: Leaf;
const servers: RunningHttpsServer[] = [];
let goodUrl: string;
let revokedUrl: string;

interface Report {
  trusted: boolean;
  diagnosis: string;
  findings: string[];
  error: { code: number | string; message: string } | null;
  revocation: {
    mode: string;
    checked: boolean;
    status: string;
    code: string | null;
    responder: string | null;
    error: string | null;
    requests: Array<{ certificate: number; responder: string; result: string }>;
  };
  hint: string | null;
}

test.before(async () => {
  if (needs) return;
  ({ dir, configFile } = privateAgentConfig('tg-trust-ocsp-', { TrustOCSPAllowLocal: true }));
  pki = await TestPki.create();
  const port = await freeTcpPort();
  const ocspUrl = `http://127.0.0.1:${port}/`;
  good = await pki.issueLeaf({ ocspUrl });
  revoked = await pki.issueLeaf({ ocspUrl });
  await pki.revoke(revoked);
  responder = await startOcspResponder({ pki, port });
  for (const leaf of [good, revoked])
    servers.push(await startHttpsServer({ certificate: leaf, handler: skewedDateHandler(0) }));
  goodUrl = `https://localhost:${servers[0]!.port}/`;
  revokedUrl = `https://localhost:${servers[1]!.port}/`;
});
test.after.always(async () => {
  await responder?.stop();
  await Promise.all(servers.map((s) => s.stop()));
  await pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function trust(args: string[]): Promise<{ code: number | null; report: Report }> {
  const run = await agentctl(['trust', ...args, '--json', '--ca', pki.caFile, '--config', configFile]);
  try {
    return { code: run.code, report: JSON.parse(run.stdout) as Report };
  } catch {
    throw new Error(`no JSON (exit ${run.code}): ${run.stdout}${run.stderr}`);
  }
}

it(title('a revoked leaf is revoked under soft and under require'), async (t) => {
  for (const mode of ['soft', 'require']) {
    const { code, report } = await trust([revokedUrl, '--revocation', mode]);
    t.is(code, 2, mode);
    t.is(report.diagnosis, 'revoked');
    t.false(report.trusted);
    t.deepEqual(report.revocation, {
      mode,
      checked: true,
      status: 'revoked',
      code: null,
      responder: responder.url,
      error: null,
      requests: [{ certificate: 0, responder: responder.url, result: 'answered' }],
    });
    t.regex(
      report.hint ?? '',
      /^The certificate of localhost was revoked by its CA \(OCSP http:\/\/127\.0\.0\.1:\d+\/\)/,
    );
  }
  // The same chain as a file.
  const file = await trust([revoked.chainFile, '--revocation', 'soft']);
  t.is(file.report.diagnosis, 'revoked');
});

it(title('a good leaf is ok under soft and require, its revocation checked'), async (t) => {
  for (const mode of ['soft', 'require']) {
    const { code, report } = await trust([goodUrl, '--revocation', mode]);
    t.is(code, 0, mode);
    t.is(report.diagnosis, 'ok');
    t.deepEqual(report.findings, ['ok']);
    t.deepEqual(report.revocation, {
      mode,
      checked: true,
      status: 'good',
      code: null,
      responder: responder.url,
      error: null,
      requests: [{ certificate: 0, responder: responder.url, result: 'answered' }],
    });
  }
  const off = await trust([goodUrl, '--revocation', 'off']);
  t.is(off.report.revocation.status, 'off');
});

it(title('a leaf that names no responder is simply not checked under soft, refused under require'), async (t) => {
  const plain = await pki.issueLeaf();
  const soft = await trust([plain.chainFile, '--revocation', 'soft']);
  t.is(soft.code, 0);
  t.deepEqual(soft.report.findings, ['ok']);
  t.is(soft.report.revocation.status, 'not_checked');
  t.is(soft.report.revocation.code, 'no_responder');
  const required = await trust([plain.chainFile, '--revocation', 'require']);
  t.is(required.code, 2);
  t.is(required.report.diagnosis, 'revocation_unknown');
});

it(title('responder stopped: ok with revocation_unknown under soft, not trusted under require'), async (t) => {
  await responder.stop();
  const soft = await trust([goodUrl, '--revocation', 'soft']);
  t.is(soft.code, 0);
  t.true(soft.report.trusted);
  t.is(soft.report.diagnosis, 'ok');
  t.deepEqual(soft.report.findings, ['ok', 'revocation_unknown']);
  t.is(soft.report.revocation.status, 'unknown');
  t.is(soft.report.revocation.code, 'responder_unreachable');
  t.false(soft.report.revocation.checked);
  t.regex(soft.report.revocation.error ?? '', /^OCSP responder http:\/\/127\.0\.0\.1:\d+\/: ECONNREFUSED$/);
  t.regex(
    soft.report.hint ?? '',
    /^Revocation of the certificate of localhost could not be checked \(OCSP responder .*ECONNREFUSED\); it is trusted without that check\.$/,
  );
  const required = await trust([goodUrl, '--revocation', 'require']);
  t.is(required.code, 2);
  t.false(required.report.trusted);
  t.is(required.report.diagnosis, 'revocation_unknown');
  t.is(required.report.revocation.status, 'unknown');
});

async function fakeResponder(
  t: { teardown(fn: () => void): void },
  answer: (res: http.ServerResponse) => void,
): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

it(title('a responder answering garbage or far too much leaves revocation unknown; soft still trusts'), async (t) => {
  const garbageUrl = await fakeResponder(t, (res) => res.end(Buffer.from('0\x82\x01\x00 definitely not OCSP')));
  const garbageLeaf = await pki.issueLeaf({ ocspUrl: garbageUrl });
  const soft = await trust([garbageLeaf.chainFile, '--revocation', 'soft']);
  t.is(soft.code, 0);
  t.deepEqual(soft.report.findings, ['ok', 'revocation_unknown']);
  t.regex(soft.report.revocation.error ?? '', /could not be used/);
  t.is(soft.report.revocation.code, 'response_unusable');

  const hugeUrl = await fakeResponder(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/ocsp-response' });
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    const more = () => {
      while (sent < 160 && res.write(chunk)) sent++;
      if (sent < 160) res.once('drain', more);
      else res.end();
    };
    res.on('error', () => undefined);
    more();
  });
  const hugeLeaf = await pki.issueLeaf({ ocspUrl: hugeUrl });
  const run = await agentctl([
    'trust',
    hugeLeaf.chainFile,
    '--json',
    '--ca',
    pki.caFile,
    '--revocation',
    'soft',
    '--config',
    configFile,
  ]);
  // Issue 17 item 4: an answer that cannot be used is no answer, never a malformed chain.
  t.is(run.code, 0);
  const report = JSON.parse(run.stdout) as Report;
  t.true(report.trusted);
  t.deepEqual(report.findings, ['ok', 'revocation_unknown']);
  t.is(report.revocation.status, 'unknown');
  t.is(report.revocation.code, 'response_too_large');
  t.regex(report.revocation.error ?? '', /the response exceeds 65536 bytes/);
  t.notRegex(run.stderr, /\n\s+at /);
});

it(title('checkTrust in process: the intermediate CA has no responder; only the leaf is asked'), async (t) => {
  // A fresh responder for the good leaf (the previous one was stopped).
  const restarted = await startOcspResponder({ pki, port: responder.port });
  t.teardown(() => restarted.stop());
  const anchors = [Buffer.from(new (await import('node:crypto')).X509Certificate(pki.root.certPem).raw)];
  const report = await checkTrust({ target: good.chainFile, anchors, revocation: 'require', ocspAllowLocal: true });
  t.is(report.diagnosis, 'ok');
  t.is(report.revocation.status, 'good');
  t.deepEqual(
    report.chain.map((c) => c.ocsp_urls.length),
    [1, 0, 0],
  );
});
