// The CA of a SCEP payload (Apple's schema: com.apple.security.scep carries `URL`, `Name` and
// `CAFingerprint`, a digest of the CA certificate, never the certificate itself; ACME carries
// neither). The CA certificate is what the SCEP server serves on GetCACert: here a real HTTP
// server (python3 -m http.server) serving an openssl-made CA, as a DER certificate and as a
// certificates-only PKCS#7 (`openssl crl2pkcs7 -nocrl`). The served CA is checked like the
// payloads' own certificates (expiring within --min-days here); a weak, malformed or unmatched
// fingerprint and a server that is down each have their code.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDoctor, type DoctorOptions } from '../../agent/profiles/doctor.js';
import { freeTcpPort } from '../helpers/ocsp.js';
import { payload, writeProfile } from '../helpers/profiles.js';
import { TestPki, type IssuedCertificate } from '../helpers/tls.js';

const day = 86_400_000;
const der = (c: IssuedCertificate) => Buffer.from(c.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

async function startStaticServer(dir: string): Promise<{ port: number; stop(): void }> {
  const port = await freeTcpPort();
  const child = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', dir, String(port)], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, stop: () => child.kill() };
}

test("SCEP: the CA the server serves is found by CAFingerprint and checked like a payload's certificate; weak, malformed, unmatched fingerprints and a server that is down fail with their codes", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-scep-'));
  const www = path.join(dir, 'www');
  mkdirSync(www);
  const pki = await TestPki.create();
  const ca = await pki.issueCa({ commonName: 'SCEP CA', notAfter: new Date(Date.now() + 10 * day) });
  writeFileSync(path.join(www, 'scep'), der(ca));
  execFileSync('openssl', [
    'crl2pkcs7',
    '-nocrl',
    '-certfile',
    ca.certFile,
    '-outform',
    'DER',
    '-out',
    path.join(www, 'scep-ra'),
  ]);
  const server = await startStaticServer(www);
  const down = await freeTcpPort();
  t.teardown(async () => {
    server.stop();
    await pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const options = (extra: Partial<DoctorOptions> = {}): DoctorOptions => ({
    schemas: null,
    targetMacos: null,
    atMs: Date.now(),
    minDays: 30,
    revocation: 'soft',
    anchors: [der(pki.root)],
    timeoutMs: 3000,
    allowLocal: true, // the test's SCEP server is on loopback
    ...extra,
  });
  const scep = (url: string, fingerprint?: Buffer) =>
    payload('com.apple.security.scep', {
      PayloadContent: { URL: url, Name: 'ca', ...(fingerprint ? { CAFingerprint: fingerprint } : {}) },
    });
  const sha256 = createHash('sha256').update(der(ca)).digest();
  const sha1 = createHash('sha1').update(der(ca)).digest();
  const findings = async (payloads: Array<Record<string, unknown>>, extra: Partial<DoctorOptions> = {}) => {
    const file = writeProfile(dir, `p${Math.random()}.mobileconfig`, payloads as never);
    const report = await runDoctor([file], options(extra));
    return report.files[0]!.findings.filter((f) => f.category === 'certificate').map(
      (f) => [f.code, f.severity, f.key_path, f.message] as const,
    );
  };
  const base = `http://127.0.0.1:${server.port}`;

  // The served CA (DER, then PKCS#7) matches; it expires within 30 days: reported at URL, as for a payload's certificate.
  for (const url of [`${base}/scep`, `${base}/scep-ra`]) {
    const found = await findings([scep(url, sha256)]);
    t.deepEqual(
      found.map(([code, severity, keyPath]) => [code, severity, keyPath]),
      [['certificate_expiring', 'error', 'PayloadContent[0].PayloadContent.URL']],
      url,
    );
    t.regex(found[0]![3], /^the SCEP server's CA: SCEP CA expires on/);
  }
  // Without a fingerprint, the CAs the server serves are checked all the same.
  t.deepEqual(
    (await findings([scep(`${base}/scep`)])).map(([code]) => code),
    ['certificate_expiring'],
  );
  // A SHA-1 fingerprint is weak; 7 bytes are no digest; another CA's digest matches nothing served.
  t.deepEqual((await findings([scep(`${base}/scep`, sha1)])).map(([code, severity]) => [code, severity]).sort(), [
    ['certificate_expiring', 'error'],
    ['scep_fingerprint_weak', 'warning'],
  ]);
  t.deepEqual(
    (await findings([scep(`${base}/scep`, Buffer.alloc(7))])).map(([code, , keyPath]) => [code, keyPath]).sort(),
    [
      ['certificate_expiring', 'PayloadContent[0].PayloadContent.URL'],
      ['scep_fingerprint_invalid', 'PayloadContent[0].PayloadContent.CAFingerprint'],
    ],
  );
  const other = createHash('sha256').update(der(pki.root)).digest();
  t.deepEqual(
    (await findings([scep(`${base}/scep`, other)])).map(([code, severity]) => [code, severity]),
    [['scep_ca_not_found', 'error']],
  );
  // A server that is down: a warning under soft, an error under require.
  const downUrl = `http://127.0.0.1:${down}/scep`;
  t.deepEqual(
    (await findings([scep(downUrl, sha256)])).map(([code, severity]) => [code, severity]),
    [['scep_server_unreachable', 'warning']],
  );
  t.deepEqual(
    (await findings([scep(downUrl, sha256)], { revocation: 'require' })).map(([code, severity]) => [code, severity]),
    [['scep_server_unreachable', 'error']],
  );
  // No network: a note; the CA given in the same profile is found there (and checked as a pkcs1 payload).
  t.deepEqual(
    (await findings([scep(downUrl, sha256)], { revocation: 'off' })).map(([code, severity]) => [code, severity]),
    [['scep_ca_not_checked', 'note']],
  );
  t.deepEqual(
    (
      await findings([scep(downUrl, sha256), payload('com.apple.security.pkcs1', { PayloadContent: der(ca) })], {
        revocation: 'off',
      })
    ).map(([code, , keyPath]) => [code, keyPath]),
    [['certificate_expiring', 'PayloadContent[1].PayloadContent']],
  );
});
