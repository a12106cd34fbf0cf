// What the profile reader bounds (docs/security.md, "Issue 19"): size before reading (and no
// FIFO hang), XML and binary plist depth and value count, BER nesting and lengths, one CMS
// envelope; and what the doctor's network probes reach: OCSP, CRL, CA-issuers and SCEP URLs only
// over http(s) — a listener on every other scheme's port sees no connection.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bplistCreator from 'bplist-creator';
import { runDoctor } from '../../agent/profiles/doctor.js';
import { readProfileBytes, readProfileFile } from '../../agent/profiles/reader.js';
import { payload, plistXml, writeProfile } from '../helpers/profiles.js';
import { TestPki } from '../helpers/tls.js';

const xml = (inner: string) => Buffer.from(`<?xml version="1.0"?>\n<plist version="1.0">\n${inner}\n</plist>\n`);
const code = (r: ReturnType<typeof readProfileBytes>) => (r.ok ? 'ok' : `${r.code}: ${r.message}`);

test('size, depth and value count: over the bound is one clear failure; a FIFO is not waited on', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-profile-bounds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const big = path.join(dir, 'big.mobileconfig');
  writeFileSync(big, xml(`<string>${'a'.repeat(1024 * 1024)}</string>`));
  t.regex(code(readProfileFile(big)), /^file_too_large: /);
  const fifo = path.join(dir, 'fifo.mobileconfig');
  execFileSync('mkfifo', [fifo]);
  t.regex(code(readProfileFile(fifo)), /^file_unreadable: is not a regular file/);

  t.is(
    code(readProfileBytes(xml(`${'<array>'.repeat(33)}${'</array>'.repeat(33)}`), 'ok')),
    'not_a_profile: the top level is not a dictionary',
  );
  t.regex(
    code(readProfileBytes(xml(`${'<array>'.repeat(34)}${'</array>'.repeat(34)}`), 'deep')),
    /^plist_too_complex: .*deeper than 32/,
  );
  t.regex(
    code(readProfileBytes(xml(`<array>${'<true/>'.repeat(20_001)}</array>`), 'many')),
    /^plist_too_complex: .*20000/,
  );

  let nested: unknown = 1;
  for (let i = 0; i < 40; i++) nested = [nested];
  t.regex(code(readProfileBytes(bplistCreator({ a: nested as never }), 'deep.bplist')), /^plist_too_complex: /);
  const many = Array.from({ length: 20_001 }, (_, i) => i);
  t.regex(code(readProfileBytes(bplistCreator({ a: many }), 'many.bplist')), /^plist_too_complex: /);
});

test('BER: nesting past 32, a 5-byte length, a length past the end are cms_corrupt; a profile signed twice is unwrapped once', async (t) => {
  const deep = Buffer.concat([Buffer.from('3080'.repeat(40), 'hex'), Buffer.alloc(80)]);
  t.regex(code(readProfileBytes(deep, 'deep')), /^cms_corrupt: .*nested deeper than 32 levels/);
  t.regex(code(readProfileBytes(Buffer.from('30850000000001', 'hex'), 'len')), /^cms_corrupt: .*length of 5 bytes/);
  t.regex(code(readProfileBytes(Buffer.from('3084ffffffff3000', 'hex'), 'past')), /^cms_corrupt: .*truncated/);

  const dir = mkdtempSync(path.join(tmpdir(), 'tg-profile-ber-'));
  const pki = await TestPki.create();
  t.teardown(async () => {
    await pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const signer = await pki.issueLeaf({ commonName: 'Signer' });
  const sign = (input: string, out: string) =>
    execFileSync('openssl', [
      'cms',
      '-sign',
      '-nodetach',
      '-binary',
      '-in',
      input,
      '-signer',
      signer.certFile,
      '-inkey',
      signer.keyFile,
      '-outform',
      'DER',
      '-out',
      out,
    ]);
  const source = path.join(dir, 'p.mobileconfig');
  writeFileSync(source, plistXml({ PayloadType: 'Configuration', PayloadContent: [] }));
  sign(source, path.join(dir, 'once.der'));
  sign(path.join(dir, 'once.der'), path.join(dir, 'twice.der'));
  t.is(code(readProfileBytes(readFileSync(path.join(dir, 'once.der')), 'once')), 'ok');
  t.regex(code(readProfileBytes(readFileSync(path.join(dir, 'twice.der')), 'twice')), /^not_a_profile: /);
});

/** A loopback listener that counts connections. */
async function listener(): Promise<{ port: number; connections: () => number; close(): void }> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, connections: () => count, close: () => server.close() };
}

test('OCSP, CRL, CA-issuers and SCEP URLs are asked only over http(s): ftp, ldap, gopher and file URLs reach no listener', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-profile-schemes-'));
  const pki = await TestPki.create();
  const other = await listener();
  const web = await listener();
  t.teardown(async () => {
    other.close();
    web.close();
    await pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const p = other.port;
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(
    ext,
    [
      'basicConstraints = critical, CA:true',
      'keyUsage = critical, keyCertSign, cRLSign',
      `authorityInfoAccess = OCSP;URI:ftp://127.0.0.1:${p}/ocsp, caIssuers;URI:ldap://127.0.0.1:${p}/ca, OCSP;URI:file:///etc/passwd`,
      `crlDistributionPoints = URI:gopher://127.0.0.1:${p}/crl, URI:http://127.0.0.1:${web.port}/crl`,
      '',
    ].join('\n'),
  );
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${dir}/ca.key`,
      '-subj',
      '/CN=Schemes CA',
      '-out',
      `${dir}/ca.csr`,
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      `${dir}/ca.csr`,
      '-CA',
      pki.root.certFile,
      '-CAkey',
      pki.root.keyFile,
      '-set_serial',
      '91',
      '-days',
      '365',
      '-extfile',
      ext,
      '-out',
      `${dir}/ca.pem`,
    ],
    { stdio: 'ignore' },
  );
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const file = writeProfile(dir, 'schemes.mobileconfig', [
    payload('com.apple.security.root', { PayloadContent: der(pki.root.certPem) }),
    payload('com.apple.security.pkcs1', { PayloadContent: der(readFileSync(`${dir}/ca.pem`, 'utf8')) }),
    payload('com.apple.security.scep', { PayloadContent: { URL: `ftp://127.0.0.1:${p}/scep`, Name: 'ca' } }),
  ]);
  const report = await runDoctor([file], {
    schemas: null,
    targetMacos: null,
    atMs: Date.now(),
    minDays: 30,
    revocation: 'require',
    anchors: [],
    timeoutMs: 2000,
    allowLocal: true, // the listeners are on loopback: only the scheme may keep them unasked
  });
  t.is(other.connections(), 0, 'no connection over ftp, ldap or gopher');
  t.true(web.connections() >= 1, 'the http CRL URL was asked');
  const codes = report.files[0]!.findings.map((f) => `${f.code} ${f.message}`);
  t.true(
    codes.some((c) => /^scep_server_unreachable .*ftp: URLs are not fetched/.test(c)),
    codes.join('\n'),
  );
});
