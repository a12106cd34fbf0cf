// Issue 18, acceptance point 2: openssl-made chains for each refusal Apple's TLS policy makes and
// OpenSSL alone does not, for path building, and for diagnoses that name every fault. Through
// checkTrust (what `agentctl trust` runs) and, for the output, agentctl itself.
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkTrust, type TrustReport } from '../../agent/trust/check.js';
import { evaluateChain } from '../../agent/trust/evaluate.js';
import { agentctl } from '../helpers/agent.js';
import { privateAgentConfig } from '../helpers/private-config.js';
import { missing } from '../helpers/system.js';
import { TestPki, type IssuedCertificate } from '../helpers/tls.js';

const needs = missing('openssl');
const it = needs ? test.skip : test;
const title = (s: string) => (needs ? `${s} [needs ${needs}]` : s);
const DAY = 86_400_000;

let pki: TestPki;
let other: TestPki;
let dir: string;
let configFile: string;
const files: Record<string, string> = {};
let crossSigned: { file: string; trustedRoot: IssuedCertificate; alternate: IssuedCertificate };
let expiringLeaf: { chainFile: string; notAfter: number };

const der = (pem: string) => new X509Certificate(pem).raw;

function pemOf(raw: Buffer): string {
  const b64 = raw.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

function file(name: string, ...pems: string[]): string {
  const f = path.join(dir, `${name}.pem`);
  writeFileSync(f, pems.join(''));
  return f;
}

test.before(async () => {
  if (needs) return;
  ({ dir, configFile } = privateAgentConfig('tg-apple-policy-', { TrustRevocation: 'off' }));
  pki = await TestPki.create();
  other = await TestPki.create({ rootName: 'Other Root CA', intermediateName: 'Other Intermediate CA' });
  const now = Date.now();

  files.weakKey = (await pki.issueLeaf({ rsaBits: 1024 })).chainFile;
  const sha1Ca = await pki.issueCa({ commonName: 'SHA-1 Intermediate CA', md: 'sha1' });
  files.sha1 = (await pki.issueLeaf({ issuer: sha1Ca })).chainFile;
  files.cnOnly = (await pki.issueLeaf({ commonName: 'cn-only.example.test', sans: [] })).chainFile;
  const constrained = await pki.issueCa({
    commonName: 'Constrained CA',
    extensions: ['nameConstraints = critical, excluded;DNS:bar.example.com'],
  });
  files.wildcard = (
    await pki.issueLeaf({ issuer: constrained, commonName: 'wildcard', sans: ['DNS:*.example.com'] })
  ).chainFile;
  files.clientOnly = (await pki.issueLeaf({ extendedKeyUsage: 'clientAuth' })).chainFile;

  // A cross-signed intermediate: the same name and key under an untrusted root (sent first) and
  // under the trusted one.
  const viaOther = await other.issueCa({ commonName: 'Cross-signed CA', issuer: other.root });
  const viaTrusted = await pki.issueCa({ commonName: 'Cross-signed CA', issuer: pki.root, keyOf: viaOther });
  const crossLeaf = await other.issueLeaf({ issuer: viaOther });
  crossSigned = {
    file: file('cross', crossLeaf.certPem, viaOther.certPem, viaTrusted.certPem),
    trustedRoot: pki.root,
    alternate: viaTrusted,
  };

  // A leaf whose signature does not verify, sent with its intermediate.
  const good = await pki.issueLeaf();
  const broken = Buffer.from(der(good.certPem));
  broken[broken.length - 1] ^= 0x01;
  files.badSignature = file('bad-signature', pemOf(broken), pki.intermediate.certPem);

  const expired = await pki.issueLeaf({ notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) });
  files.expiredIncomplete = file('expired-incomplete', expired.certPem);
  files.expiredWrongHost = expired.chainFile;
  const expiredCa = await pki.issueCa({
    commonName: 'Expired Intermediate CA',
    notBefore: new Date(now - 30 * DAY),
    notAfter: new Date(now - DAY),
  });
  files.expiredIntermediate = (await pki.issueLeaf({ issuer: expiredCa })).chainFile;

  const soon = await pki.issueLeaf({ notAfter: new Date(now + 10 * DAY) });
  expiringLeaf = { chainFile: soon.chainFile, notAfter: Date.parse(new X509Certificate(soon.certPem).validTo) };
});

test.after.always(async () => {
  await pki?.cleanup();
  await other?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function check(target: string, hostname = 'localhost'): Promise<TrustReport> {
  return checkTrust({ target, hostname, anchors: [der(pki.root.certPem)], anchorsOnly: true });
}

const codes = (r: TrustReport) => r.faults.map((f) => `${f.code}@${f.certificate}`);

it(title('a 1024-bit RSA leaf is refused under the SSL policy: weak_key'), async (t) => {
  const r = await check(files.weakKey!);
  t.false(r.trusted);
  t.is(r.diagnosis, 'weak_key');
  t.deepEqual(codes(r), ['weak_key@0']);
  t.regex(r.hint ?? '', /2048/);
});

it(title('an intermediate signed with SHA-1 is refused: weak_signature on that certificate'), async (t) => {
  const r = await check(files.sha1!);
  t.false(r.trusted);
  t.is(r.diagnosis, 'weak_signature');
  t.deepEqual(codes(r), ['weak_signature@1']);
});

it(title('a leaf without subjectAltName never matches through its CN: hostname_mismatch'), async (t) => {
  const r = await check(files.cnOnly!, 'cn-only.example.test');
  t.false(r.trusted);
  t.is(r.diagnosis, 'hostname_mismatch');
  t.true(r.faults.some((f) => /common name is not used/.test(f.message)));
});

it(title('a wildcard leaf under a CA that excludes one of its names is refused (CVE-2025-61727)'), async (t) => {
  const r = await check(files.wildcard!, 'foo.example.com');
  t.false(r.trusted);
  t.is(r.diagnosis, 'name_not_permitted');
  t.regex(r.faults[0]!.message, /bar\.example\.com/);
});

it(title('a leaf for client authentication only is bad_usage, not malformed'), async (t) => {
  const r = await check(files.clientOnly!);
  t.is(r.diagnosis, 'bad_usage');
});

it(title('a cross-signed intermediate: the alternate path to the trusted root is found and reported'), async (t) => {
  const r = await check(crossSigned.file);
  t.true(r.trusted, JSON.stringify(r.faults));
  t.is(r.diagnosis, 'ok');
  // OpenSSL takes the first issuer and fails; trustd builds the other path itself.
  if (process.platform !== 'darwin') t.true(r.paths_tried >= 2);
  const used = r.chain.map((c) => c.sha256);
  const sha = (pem: string) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
  t.true(used.includes(sha(crossSigned.alternate.certPem)));
  t.is(used[used.length - 1], sha(crossSigned.trustedRoot.certPem));
});

it(title('a bad signature with the intermediate sent is bad_signature, not incomplete_chain'), async (t) => {
  const r = await check(files.badSignature!);
  t.false(r.trusted);
  t.is(r.diagnosis, 'bad_signature');
  t.false(r.findings.includes('incomplete_chain'));
});

it(title('an expired leaf whose intermediate is missing: both faults, headline incomplete_chain'), async (t) => {
  const r = await check(files.expiredIncomplete!);
  t.is(r.diagnosis, 'incomplete_chain');
  t.deepEqual(codes(r), ['incomplete_chain@0', 'expired@0']);
  t.deepEqual(r.findings, ['incomplete_chain', 'expired']);
  t.regex(r.hint ?? '', /One other problem is listed/);
});

it(title('an expired leaf for another host: both faults, headline expired'), async (t) => {
  const r = await check(files.expiredWrongHost!, 'other.example.test');
  t.is(r.diagnosis, 'expired');
  t.deepEqual(r.findings, ['expired', 'hostname_mismatch']);
});

it(title('an expired intermediate under a trusted root is expired, not untrusted_root'), async (t) => {
  const r = await check(files.expiredIntermediate!);
  t.is(r.diagnosis, 'expired');
  t.deepEqual(codes(r), ['expired@1']);
});

it(
  title('notAfter is inclusive (RFC 5280 §4.1.2.5): trusted at that very second, expired one second later'),
  async (t) => {
    const chain = (await import('node:fs')).readFileSync(expiringLeaf.chainFile, 'utf8');
    const certs = chain.split(/(?=-----BEGIN CERTIFICATE-----)/).map(der);
    const base = {
      chain: certs,
      policy: 'ssl' as const,
      hostname: 'localhost',
      anchors: [der(pki.root.certPem)],
      anchorsOnly: true,
    };
    t.true((await evaluateChain({ ...base, verifyDate: expiringLeaf.notAfter })).trusted);
    t.true((await evaluateChain({ ...base, verifyDate: expiringLeaf.notAfter + 999 })).trusted);
    const after = await evaluateChain({ ...base, verifyDate: expiringLeaf.notAfter + 1000 });
    t.is(after.diagnosis, 'expired');
  },
);

it(
  title('agentctl trust --json carries every fault and the headline; the human view lists each on one line'),
  async (t) => {
    const caFile = pki.root.certFile;
    const json = await agentctl([
      'trust',
      files.expiredIncomplete!,
      '--hostname',
      'localhost',
      '--ca',
      caFile,
      '--anchors-only',
      '--json',
      '--config',
      configFile,
    ]);
    t.is(json.code, 2, json.stderr);
    const report = JSON.parse(json.stdout) as TrustReport;
    t.is(report.diagnosis, 'incomplete_chain');
    t.deepEqual(
      report.faults.map((f) => [f.code, f.certificate, f.subject]),
      [
        ['incomplete_chain', 0, 'CN=localhost'],
        ['expired', 0, 'CN=localhost'],
      ],
    );
    const human = await agentctl([
      'trust',
      files.expiredIncomplete!,
      '--hostname',
      'localhost',
      '--ca',
      caFile,
      '--anchors-only',
      '--config',
      configFile,
    ]);
    const lines = human.stdout.split('\n');
    t.true(
      lines.some((l) => /Findings\s+\| incomplete_chain \(leaf\): /.test(l)),
      human.stdout,
    );
    t.true(
      lines.some((l) => /^\s+\| expired \(leaf\): /.test(l)),
      human.stdout,
    );
    const findingLines = lines.slice(
      lines.findIndex((l) => l.includes('Findings')),
      lines.findIndex((l) => l.includes('Error')),
    );
    t.is(findingLines.length, 2);
    t.true(
      findingLines.every((l) => l.length <= 80),
      human.stdout,
    );
  },
);
