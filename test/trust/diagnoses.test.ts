// `agentctl trust` against real HTTPS servers on loopback whose chains the real openssl made:
// each diagnosis of issue 10's first acceptance point, then the same chains as certificate files
// (PEM bundle and DER) with the same verdicts, and policy basic not checking the name.
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { agentctl } from '../helpers/agent.js';
import { freeTcpPort } from '../helpers/ocsp.js';
import { missing } from '../helpers/system.js';
import { skewedDateHandler, startHttpsServer, TestPki, type Leaf, type RunningHttpsServer } from '../helpers/tls.js';
import { privateAgentConfig } from '../helpers/private-config.js';

const needs = missing('openssl');
const it = needs ? test.skip : test;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);
const DAY = 86_400_000;

interface Report {
  target: string;
  trusted: boolean;
  result: string | null;
  diagnosis: string;
  findings: string[];
  error: { code: number | string; message: string } | null;
  at_system_time: {
    time: string;
    trusted: boolean;
    result: string;
    error: { code: number; message: string } | null;
  } | null;
  at_corrected_time: unknown;
  revocation: { checked: boolean; status: string; responder: string | null };
  chain: Array<{ subject: string; issuer: string; not_before: string; not_after: string; sha256: string }>;
  leaf_expires_in_days: number | null;
  hint: string | null;
  policy: string;
}

let pki: TestPki;
let other: TestPki;
let dir: string;
let configFile: string;
const leaves: Record<string, Leaf> = {};
const servers: Record<string, RunningHttpsServer> = {};

test.before(async () => {
  if (needs) return;
  ({ dir, configFile } = privateAgentConfig('tg-trust-', { TrustRevocation: 'off' }));
  pki = await TestPki.create();
  other = await TestPki.create({ rootName: 'Unknown Root CA', intermediateName: 'Unknown Intermediate CA' });
  const now = Date.now();
  leaves.valid = await pki.issueLeaf();
  leaves.expired = await pki.issueLeaf({ notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) });
  leaves.notYetValid = await pki.issueLeaf({ notBefore: new Date(now + 3600_000) });
  leaves.unknownRoot = await other.issueLeaf();
  leaves.wrongName = await pki.issueLeaf({ commonName: 'wrong.example.test', sans: ['DNS:wrong.example.test'] });
  const onlyLeaf = await pki.issueLeaf();
  leaves.incomplete = { ...onlyLeaf, chainPem: onlyLeaf.certPem, chainFile: onlyLeaf.certFile };
  for (const [name, leaf] of Object.entries(leaves))
    servers[name] = await startHttpsServer({ certificate: leaf, handler: skewedDateHandler(0) });
});
test.after.always(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  await pki?.cleanup();
  await other?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function trust(args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const run = await agentctl(['trust', ...args, '--json', '--config', configFile]);
  let report: Report;
  try {
    report = JSON.parse(run.stdout) as Report;
  } catch {
    throw new Error(`agentctl trust printed no JSON (exit ${run.code}): ${run.stdout}${run.stderr}`);
  }
  return { code: run.code, report, stderr: run.stderr };
}

const url = (name: string) => `https://localhost:${servers[name]!.port}/`;

const cases: Array<{ name: string; diagnosis: string; exit: number; hint: RegExp | null }> = [
  { name: 'valid', diagnosis: 'ok', exit: 0, hint: null },
  {
    name: 'expired',
    diagnosis: 'expired',
    exit: 2,
    hint: /^The certificate of localhost expired on \d{4}-\d{2}-\d{2}/,
  },
  {
    name: 'notYetValid',
    diagnosis: 'not_yet_valid',
    exit: 2,
    hint: /^The certificate of localhost is valid only from /,
  },
  {
    name: 'unknownRoot',
    diagnosis: 'untrusted_root',
    exit: 2,
    hint: /ends at "Unknown Root CA", which this machine does not trust/,
  },
  {
    name: 'wrongName',
    diagnosis: 'hostname_mismatch',
    exit: 2,
    hint: /is issued to "wrong\.example\.test", not to localhost/,
  },
  {
    name: 'incomplete',
    diagnosis: 'incomplete_chain',
    exit: 2,
    hint: /without the intermediate CA "TrustGuard Test Intermediate CA"/,
  },
];

for (const c of cases) {
  it(title(`an HTTPS server with a ${c.name} chain is diagnosed ${c.diagnosis} (exit ${c.exit})`), async (t) => {
    const { code, report } = await trust([url(c.name), '--ca', pki.caFile]);
    t.is(report.diagnosis, c.diagnosis);
    t.is(code, c.exit);
    t.is(report.trusted, c.exit === 0);
    t.is(report.policy, 'ssl');
    t.is(report.at_system_time!.trusted, report.trusted);
    t.is(report.at_corrected_time, null);
    t.deepEqual(report.revocation, {
      mode: 'off',
      checked: false,
      status: 'off',
      code: null,
      responder: null,
      error: null,
      requests: [],
    } as never);
    t.is(
      report.chain[0]!.sha256,
      new X509Certificate(leaves[c.name]!.certPem).fingerprint256.replaceAll(':', '').toLowerCase(),
    );
    if (c.exit === 0) {
      t.is(report.result, 'unspecified');
      t.is(report.error, null);
      t.is(report.leaf_expires_in_days, 364);
      t.is(report.hint, null);
    } else {
      t.is(report.result, 'recoverableTrustFailure');
      t.is(typeof report.error!.code, 'number');
      t.true(report.error!.message.length > 0);
      t.regex(report.hint ?? '', c.hint!);
    }
  });
}

it(title('a closed port is unreachable: exit 1, no evaluation, a hint'), async (t) => {
  const port = await freeTcpPort();
  const { code, report } = await trust([`https://127.0.0.1:${port}/`]);
  t.is(code, 1);
  t.is(report.diagnosis, 'unreachable');
  t.is(report.at_system_time, null);
  t.deepEqual(report.error, { code: 'connection_refused', message: `127.0.0.1:${port}: connection refused` });
  t.regex(report.hint ?? '', /^Cannot fetch the certificate of 127\.0\.0\.1 .*check the URL, the network/);
});

it(title('the human output says the verdict, the diagnosis and the hint'), async (t) => {
  const run = await agentctl(['trust', url('expired'), '--ca', pki.caFile, '--config', configFile]);
  t.is(run.code, 2);
  t.regex(run.stdout, /Verdict +\| Not trusted/);
  t.regex(run.stdout, /Diagnosis +\| expired/);
  t.regex(run.stdout, /Hint +\| The certificate of localhost expired on/);
  t.regex(run.stdout, />>> Chain\n {2}0 +\| CN=localhost/);
});

for (const c of cases) {
  it(title(`the ${c.name} chain as a PEM bundle and as DER gives ${c.diagnosis} too`), async (t) => {
    const leaf = leaves[c.name]!;
    const pemFile = leaf.chainFile;
    const derFile = path.join(dir, `${c.name}.der`);
    const pems = leaf.chainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
    writeFileSync(derFile, Buffer.concat(pems.map((p) => new X509Certificate(p).raw)));
    for (const file of [pemFile, derFile]) {
      const named = await trust([file, '--hostname', 'localhost', '--ca', pki.caFile]);
      t.is(named.report.diagnosis, c.diagnosis, file);
      t.is(named.code, c.exit, file);
      t.is(named.report.policy, 'ssl');
      const basic = await trust([file, '--ca', pki.caFile]);
      t.is(basic.report.policy, 'basic');
      // Policy basic checks no name: the wrong-name chain is fine as a file.
      t.is(basic.report.diagnosis, c.name === 'wrongName' ? 'ok' : c.diagnosis, file);
    }
  });
}

it(title('--anchors-only trusts only the given anchors; --ca with an unknown root is untrusted'), async (t) => {
  const onlyOther = await trust([url('valid'), '--ca', other.caFile, '--anchors-only']);
  t.is(onlyOther.report.diagnosis, 'untrusted_root');
  const onlyOurs = await trust([url('valid'), '--ca', pki.caFile, '--anchors-only']);
  t.is(onlyOurs.report.diagnosis, 'ok');
  const none = await trust([url('valid')]);
  t.is(none.report.diagnosis, 'untrusted_root');
});

it(title('usage errors exit 64'), async (t) => {
  for (const args of [
    [],
    ['http://example.test/'],
    ['ftp://x/'],
    [url('valid'), '--at', 'yesterday'],
    [url('valid'), '--at', '2026-02-30'],
    [url('valid'), '--revocation', 'maybe'],
    [url('valid'), '--anchors-only'],
    [url('valid'), '--at', '2026-01-01T00:00:00Z', '--ntp', '127.0.0.1'],
  ]) {
    const run = await agentctl(['trust', ...args, '--config', configFile]);
    t.is(run.code, 64, args.join(' '));
    t.regex(run.stderr, /^agentctl trust: /);
    t.notRegex(run.stderr, /\n\s+at /, 'no stack trace');
  }
});
