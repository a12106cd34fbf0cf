// Round 4 (session review): the session's new surfaces (`agentctl doctor profile`, `agentctl
// doctor sso`, the trust capability's local-address rule) attacked the way SPEC §1.8 says: by
// a local user (`nobody`, who plants files and folders) and by hostile peers on 127.0.0.1. Each
// test failed before its fix (docs/security.md, "Round 4 (session review)").
import test from 'ava';
import { execFile } from 'node:child_process';
import dns from 'node:dns/promises';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { probeUrl } from '../../agent/profiles/cert-checks.js';
import { judgeAssociation, judgeCdn, type HttpAnswer } from '../../agent/sso/association.js';
import { isLocalAddress } from '../../agent/trust/ocsp.js';
import { agentctl } from '../helpers/agent.js';
import { asNobody, needsNobody, nobodyTitle } from '../helpers/attacker.js';
import { missing } from '../helpers/system.js';

const run = promisify(execFile);
let dir: string;

test.before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tg-review-'));
  chmodSync(dir, 0o777);
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const plist = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n${body}\n</dict>\n</plist>\n`;
const top = (id: string, content: string) =>
  plist(`  <key>PayloadContent</key><array>${content}</array>
  <key>PayloadIdentifier</key><string>${id}</string>
  <key>PayloadType</key><string>Configuration</string>
  <key>PayloadUUID</key><string>8A4E7A3C-1111-4B6B-9E2A-999999999999</string>
  <key>PayloadVersion</key><integer>1</integer>`);
const ssoPayload = (urls: string[]) => `<dict>
  <key>PayloadType</key><string>com.apple.extensiblesso</string>
  <key>PayloadIdentifier</key><string>com.example.sso</string>
  <key>PayloadUUID</key><string>8A4E7A3C-1111-4B6B-9E2A-000000000001</string>
  <key>PayloadVersion</key><integer>1</integer>
  <key>ExtensionIdentifier</key><string>com.example.app.ssoe</string>
  <key>TeamIdentifier</key><string>ABCDE12345</string>
  <key>Type</key><string>Redirect</string>
  <key>URLs</key><array>${urls.map((u) => `<string>${u}</string>`).join('')}</array>
  <key>PlatformSSO</key><dict><key>TokenToUserMapping</key><dict><key>AccountName</key><string>upn</string></dict></dict>
</dict>`;

/** Control characters a terminal acts on: ESC, BEL, CSI (C1) and the bidi overrides. */
// eslint-disable-next-line no-control-regex -- the control characters are what the test looks for
const terminalControl = /[\u001b\u0007\u009b\u202e]/;

test('a planted profile cannot put escape sequences on the terminal of whoever runs doctor profile or doctor sso', async (t) => {
  // Every string the file decides: its name, the payload type and identifier, a key, a value.
  const name = path.join(dir, 'evil\u001b]0;owned\u0007.mobileconfig');
  writeFileSync(
    name,
    top(
      'top&#x1b;[1m',
      `<dict>
  <key>PayloadType</key><string>com.apple.evil&#x1b;]0;PWNED&#x07;&#x1b;[2J</string>
  <key>PayloadIdentifier</key><string>id&#x1b;[31mRED&#x9b;31m&#x202e;</string>
  <key>PayloadUUID</key><string>not&#x9b;2J</string>
  <key>PayloadVersion</key><integer>1</integer>
</dict>${ssoPayload(['https://idp.invalid/'])}`,
    ),
  );
  const profile = await agentctl(['doctor', 'profile', name]);
  t.is(profile.code, 0, profile.stderr); // warnings only
  t.regex(profile.stdout, /payload com\.apple\.evil\?\]0;PWNED\?\?\[2J id\?\[31mRED\?31m\?/);
  t.notRegex(profile.stdout, terminalControl);
  const sso = await agentctl(['doctor', 'sso', '--profile', name, '--timeout', '1', '--cdn', 'https://127.0.0.1:1/a']);
  t.regex(sso.stdout, /evil\?\]0;owned\?\.mobileconfig: com\.example\.sso/);
  t.notRegex(sso.stdout + sso.stderr, terminalControl);
  const none = path.join(dir, 'none\u001b[2J.mobileconfig');
  writeFileSync(none, top('x', ''));
  const empty = await agentctl(['doctor', 'sso', '--profile', none]);
  t.is(empty.code, 1);
  t.notRegex(empty.stderr, terminalControl);
});

test("a profile's SSO URLs and derived issuer make doctor sso reach no loopback service unless --allow-local-urls", async (t) => {
  let connections = 0;
  const victim = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => victim.listen(0, '127.0.0.1', resolve));
  const port = (victim.address() as AddressInfo).port;
  t.teardown(() => victim.close());
  const file = path.join(dir, 'loopback.mobileconfig');
  // The IPv4-mapped form is written ::ffff:7f00:1 by the URL parser: it slipped past the old check.
  writeFileSync(
    file,
    top(
      'loopback',
      ssoPayload([`https://127.0.0.1:${port}/`, `https://[::ffff:127.0.0.1]:${port}/x`, `https://localhost:${port}/y`]),
    ),
  );
  const cdn = 'https://127.0.0.1:1/a/v1';
  const refused = await agentctl(['doctor', 'sso', '--profile', file, '--json', '--timeout', '3', '--cdn', cdn]);
  t.is(connections, 0, 'the loopback service was asked');
  const checks = (JSON.parse(refused.stdout) as { payloads: Array<{ checks: Array<Record<string, string>> }> })
    .payloads[0]!.checks;
  const association = checks.filter((c) => c.check === 'association');
  t.is(association.length, 3);
  for (const c of association) {
    t.is(c.code, 'aasa_unreachable');
    t.regex(c.detail!, /loopback, link-local or unspecified address: not asked \(--allow-local-urls\)/);
  }
  t.is(checks.find((c) => c.check === 'claims')!.code, 'discovery_unreachable');
  // The administrator's own choice still works.
  await agentctl(['doctor', 'sso', '--profile', file, '--timeout', '3', '--cdn', cdn, '--allow-local-urls']);
  t.true(connections > 0);
});

test('IPv4-mapped IPv6 loopback and link-local addresses are local, in either spelling', (t) => {
  for (const a of [
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:0001',
    '::ffff:a9fe:a9fe',
    '::ffff:0.0.0.0',
  ])
    t.true(isLocalAddress(a), a);
  for (const a of ['::ffff:808:808', '8.8.8.8', '2001:db8::1']) t.false(isLocalAddress(a), a);
});

test("doctor profile's CRL and CA-issuers probes refuse a mapped loopback address and a name resolving to loopback", async (t) => {
  let requests = 0;
  const victim = http.createServer((_q, r) => {
    requests++;
    r.end();
  });
  await new Promise<void>((resolve) => victim.listen(0, '127.0.0.1', resolve));
  const port = (victim.address() as AddressInfo).port;
  t.teardown(() => victim.close());
  const mapped = await probeUrl(`http://[::ffff:127.0.0.1]:${port}/crl`, 3000);
  t.false(mapped.ok);
  // A name of this machine's own (/etc/hosts) that is not "localhost": refused at connect time.
  const names: string[] = [];
  for (const name of [os.hostname(), 'localhost.localdomain', 'ip6-localhost']) {
    const found = await dns.lookup(name, { all: true }).catch(() => []);
    if (found.some((a) => a.address.startsWith('127.'))) names.push(name);
  }
  for (const name of names) {
    const r = await probeUrl(`http://${name}:${port}/crl`, 3000);
    t.like(r, { ok: false });
    t.regex((r as { error: string }).error, /loopback/);
  }
  t.is(requests, 0);
  t.true((await probeUrl(`http://127.0.0.1:${port}/crl`, 3000, true)).ok);
  t.log(`names resolving to loopback here: ${names.join(', ') || 'none'}`);
});

test('an association file nested 30,000 deep is a verdict, not a crash of doctor sso', (t) => {
  const body = Buffer.from(`{"authsrv":{"apps":["T.c"]},"x":${'['.repeat(30_000)}${']'.repeat(30_000)}}`);
  const answer: HttpAnswer = { status: 200, headers: { 'content-type': 'application/json' }, body, truncated: false };
  t.like(judgeAssociation(answer, 'ABCDE12345', 'com.example.app'), { code: 'aasa_invalid_json' });
  // The CDN's copy compared with the host's file recursed through it: a RangeError before.
  const host = { file: { authsrv: { apps: ['ABCDE12345.com.example.app'] } }, lastModified: null };
  t.like(judgeCdn(answer, host, 'ABCDE12345', 'com.example.app'), { code: 'cdn_invalid' });
});

const schemaTop = 'payload: {payloadtype: Configuration}\npayloadkeys: [{key: PayloadType, type: <string>}]\n';
const schemaCommon = 'payload: {payloadtype: Common}\npayloadkeys: [{key: PayloadIdentifier, type: <string>}]\n';

test(
  nobodyTitle(
    'a --schemas folder nobody planted a FIFO, a link to /dev/zero and hostile YAML in does not hang or crash doctor profile',
  ),
  async (t) => {
    if (needsNobody) return t.pass();
    const folder = path.join(dir, 'schemas');
    const made = await asNobody('mkdir', [folder]);
    t.is(made.code, 0, made.stderr);
    t.is((await asNobody('mkfifo', [path.join(folder, 'AFifo.yaml')])).code, 0);
    t.is((await asNobody('ln', ['-s', '/dev/zero', path.join(folder, 'BZero.yaml')])).code, 0);
    const write = (name: string, text: string) =>
      asNobody('sh', ['-c', `cat > "$1"`, 'sh', path.join(folder, name)], { input: text });
    await write('TopLevel.yaml', schemaTop);
    await write('CommonPayloadKeys.yaml', schemaCommon);
    // Entries the checker read without looking: null, numbers, a key that is a number, subkeys
    // that are a string, a cyclic alias, and a format that backtracks without end.
    await write(
      'Evil.yaml',
      [
        'payload: {payloadtype: com.apple.extensiblesso, supportedOS: {macOS: {introduced: {}}}}',
        'payloadkeys: &k [null, 5, {key: 7, subkeys: "x", range: 3, presence: {}},',
        '  {key: URLs, type: <array>, subkeys: [{key: u, type: <string>, format: "^(a|a)*$"}]},',
        '  {key: PlatformSSO, type: <dictionary>, subkeys: *k}]',
      ].join('\n'),
    );
    const file = path.join(dir, 'schema-target.mobileconfig');
    writeFileSync(file, top('schema', ssoPayload([`${'a'.repeat(40)}b`, 'https://idp.invalid/'])));
    const result = await agentctl(['doctor', 'profile', '--schemas', folder, '--json', file]);
    t.is(result.code, 2, result.stderr);
    t.notRegex(result.stderr, /Cannot read|TypeError|stack/);
    const codes = (
      JSON.parse(result.stdout) as { files: Array<{ findings: Array<{ code: string }> }> }
    ).files[0]!.findings.map((f) => f.code);
    t.false(codes.includes('schema_not_run'));
  },
);

const needsOpenssl = missing('openssl');
(needsOpenssl ? test.skip : test)(
  `a profile of 200 certificate payloads naming the same 4 URLs asks each URL once${needsOpenssl ? ` [needs ${needsOpenssl}]` : ''}`,
  async (t) => {
    let requests = 0;
    const server = http.createServer((_q, r) => {
      requests++;
      r.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    t.teardown(() => server.close());
    const base = `http://127.0.0.1:${port}`;
    const config = path.join(dir, 'crl.cnf');
    writeFileSync(
      config,
      `[req]\ndistinguished_name=dn\n[dn]\n[ext]\ncrlDistributionPoints=URI:${base}/a.crl,URI:${base}/b.crl,URI:${base}/c.crl\nauthorityInfoAccess=caIssuers;URI:${base}/ca.der\n`,
    );
    const pem = path.join(dir, 'storm.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', path.join(dir, 'storm.key'), '-out', pem, '-days', '30', '-subj', '/CN=storm',
      '-config', config, '-extensions', 'ext',
    ]); // prettier-ignore
    const b64 = (await run('sh', ['-c', `openssl x509 -in "${pem}" -outform DER | base64 -w0`])).stdout.trim();
    const payloads = Array.from(
      { length: 200 },
      (_, i) => `<dict>
  <key>PayloadType</key><string>com.apple.security.root</string>
  <key>PayloadIdentifier</key><string>p${i}</string>
  <key>PayloadUUID</key><string>8A4E7A3C-1111-4B6B-9E2A-${String(i).padStart(12, '0')}</string>
  <key>PayloadVersion</key><integer>1</integer>
  <key>PayloadContent</key><data>${b64}</data>
</dict>`,
    ).join('');
    const file = path.join(dir, 'storm.mobileconfig');
    writeFileSync(file, top('storm', payloads));
    const result = await agentctl(['doctor', 'profile', '--allow-local-urls', '--json', file]);
    t.is(result.code, 2, result.stderr);
    t.true(requests <= 4, `${requests} requests`); // 800 before
    const findings = (JSON.parse(result.stdout) as { files: Array<{ findings: Array<{ code: string }> }> }).files[0]!
      .findings;
    t.is(findings.filter((f) => f.code === 'url_unreachable').length, 800); // every certificate still says so
  },
);
