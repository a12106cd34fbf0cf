// Certificates in profiles, with a real OCSP responder (`openssl ocsp -port`, test/helpers/ocsp.ts)
// and certificates made here: an embedded CA that is revoked, a responder that is down, a CA
// expiring within --min-days, a SHA-1 CA, a duplicate PayloadUUID, and two profiles setting one
// key to two values each fail with their code; a clean profile exits 0.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodeOf } from '../../agent/profiles/doctor-profile-command.js';
import { runDoctor, type DoctorOptions } from '../../agent/profiles/doctor.js';
import { freeTcpPort, startOcspResponder } from '../helpers/ocsp.js';
import { payload, writeProfile } from '../helpers/profiles.js';
import { TestPki, type IssuedCertificate } from '../helpers/tls.js';

const day = 86_400_000;
const options = (extra: Partial<DoctorOptions> = {}): DoctorOptions => ({
  schemas: null,
  targetMacos: null,
  atMs: Date.now(),
  minDays: 30,
  revocation: 'require',
  anchors: [],
  timeoutMs: 3000,
  allowLocal: true, // the test's responders are on loopback
  ...extra,
});
const der = (c: IssuedCertificate) => Buffer.from(c.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
const rootPayload = (c: IssuedCertificate) => payload('com.apple.security.root', { PayloadContent: der(c) });
const caPayload = (c: IssuedCertificate) => payload('com.apple.security.pkcs1', { PayloadContent: der(c) });
const errorCodes = (r: Awaited<ReturnType<typeof runDoctor>>) =>
  r.files.flatMap((f) => f.findings.filter((x) => x.severity !== 'note').map((x) => x.code));

test('OCSP-first: a revoked CA, a responder that is down, an expiring CA, a SHA-1 CA each fail with their code; a clean profile exits 0', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-profile-certs-'));
  const pki = await TestPki.create();
  const port = await freeTcpPort();
  const downPort = await freeTcpPort();
  const ocspUrl = `http://127.0.0.1:${port}/`;
  const good = await pki.issueCa({ commonName: 'Good CA', ocspUrl });
  const revoked = await pki.issueCa({ commonName: 'Revoked CA', ocspUrl });
  const orphan = await pki.issueCa({ commonName: 'Unanswered CA', ocspUrl: `http://127.0.0.1:${downPort}/` });
  const expiring = await pki.issueCa({ commonName: 'Expiring CA', notAfter: new Date(Date.now() + 10 * day) });
  await pki.revoke(revoked, pki.root);
  const responder = await startOcspResponder({ pki, port, issuer: pki.root });
  t.teardown(async () => {
    await responder.stop();
    await pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  // A SHA-1 CA, signed by the root with openssl directly.
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${dir}/sha1.key`,
      '-subj',
      '/CN=SHA-1 CA',
      '-out',
      `${dir}/sha1.csr`,
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-sha1',
      '-in',
      `${dir}/sha1.csr`,
      '-CA',
      pki.root.certFile,
      '-CAkey',
      pki.root.keyFile,
      '-set_serial',
      '77',
      '-days',
      '365',
      '-out',
      `${dir}/sha1.pem`,
    ],
    { stdio: 'ignore' },
  );
  const sha1 = { certPem: readFileSync(`${dir}/sha1.pem`, 'utf8') } as IssuedCertificate;

  const check = async (payloads: ReturnType<typeof payload>[]) =>
    runDoctor([writeProfile(dir, `${randomUUID()}.mobileconfig`, payloads)], options());

  const clean = await check([rootPayload(pki.root), caPayload(good)]);
  t.deepEqual(errorCodes(clean), []);
  t.is(exitCodeOf(clean, true), 0);

  const cases: Array<[string, IssuedCertificate, string]> = [
    ['revoked', revoked, 'certificate_revoked'],
    ['responder down', orphan, 'revocation_unknown'],
    ['expiring', expiring, 'certificate_expiring'],
    ['SHA-1', sha1, 'certificate_sha1'],
  ];
  for (const [name, cert, code] of cases) {
    const report = await check([rootPayload(pki.root), caPayload(cert)]);
    t.true(errorCodes(report).includes(code as never), `${name}: ${errorCodes(report).join(', ')}`);
    t.is(exitCodeOf(report, false), 2, name);
  }

  // A profile is outside input: without --allow-local-urls, its loopback responder is never asked.
  const guarded = await runDoctor(
    [writeProfile(dir, `${randomUUID()}.mobileconfig`, [rootPayload(pki.root), caPayload(revoked)])],
    {
      ...options(),
      allowLocal: false,
    },
  );
  const unknown = guarded.files.flatMap((f) => f.findings).find((x) => x.code === 'revocation_unknown');
  t.truthy(unknown, 'the loopback responder is not asked');
  t.regex(unknown!.message, /loopback|link-local|not asked/);
  t.false(errorCodes(guarded).includes('certificate_revoked' as never));
});

test('across files: a duplicate PayloadUUID and one preference key set to two values each fail; the same key set alike does not', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-profile-across-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const shared = randomUUID();
  const a = writeProfile(dir, 'a.mobileconfig', [payload('com.trustguard.agent', { Mode: 'observe' }, shared)]);
  const b = writeProfile(dir, 'b.mobileconfig', [payload('com.trustguard.agent', { Mode: 'enforce' }, shared)]);
  const c = writeProfile(dir, 'c.mobileconfig', [payload('com.trustguard.agent', { Mode: 'observe' })]);
  const report = await runDoctor([a, b], options({ revocation: 'off' }));
  const second = report.files[1]!.findings;
  const dup = second.find((f) => f.code === 'payload_uuid_duplicate');
  t.truthy(dup);
  t.is(typeof dup!.line, 'number', 'the line of the PayloadUUID key');
  const conflict = second.find((f) => f.code === 'preference_conflict');
  t.regex(conflict?.message ?? '', /com\.trustguard\.agent Mode is "enforce" here and "observe" in .*a\.mobileconfig/);
  t.is(exitCodeOf(report, false), 2);
  const alike = await runDoctor([a, c], options({ revocation: 'off' }));
  t.deepEqual(errorCodes(alike), []);
  t.is(exitCodeOf(alike, true), 0);
});
