// Profiles read for the daemon in the parser process (agent/profiles/in-parser.ts, task
// 'profile' of agent/config/parse-process.ts): `profiles show -output stdout-xml` output and a
// signed profile arrive as the reader's document (dates, data, the signer's certificate intact;
// no lines), the SSO static checks run on it; bad input, input over the bound, a parser that
// runs out of time each come back as one failure, never a rejection.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'plist';
import { readProfileInParser } from '../../agent/profiles/in-parser.js';
import { payloadsOf, readProfileBytes } from '../../agent/profiles/reader.js';
import { checkSsoPayload, ssoPayloadType } from '../../agent/profiles/sso-checks.js';
import { payload, plistXml } from '../helpers/profiles.js';
import { TestPki } from '../helpers/tls.js';

// The layout of `profiles show -output stdout-xml`: user or _computerlevel → profiles → ProfileItems.
const installed = build({
  _computerlevel: [
    {
      ProfileIdentifier: 'com.acme.sso',
      ProfileUUID: '6F1A2B3C-0000-4000-8000-000000000001',
      ProfileInstallDate: '2026-11-02 10:00:00 +0000',
      ProfileItems: [
        {
          PayloadType: ssoPayloadType,
          PayloadIdentifier: 'com.acme.sso.redirect',
          PayloadUUID: '6F1A2B3C-0000-4000-8000-000000000002',
          PayloadContent: {
            ExtensionIdentifier: 'com.acme.sso.extension',
            TeamIdentifier: 'ABCDE1234',
            Type: 'Redirect',
            URLs: ['https://login.acme.example/oauth2', 'http://login.acme.example/saml?x=1'],
          },
        },
        {
          PayloadType: 'com.apple.security.root',
          PayloadIdentifier: 'com.acme.root',
          PayloadUUID: '6F1A2B3C-0000-4000-8000-000000000003',
          PayloadContent: { Data: Buffer.from([0x30, 0x82, 0x01, 0x00]), Since: new Date('2026-01-02T03:04:05Z') },
        },
      ],
    },
  ],
});

test("`profiles show` output read in the parser process: the reader's document, dates and data intact, SSO checks run on it", async (t) => {
  const bytes = Buffer.from(installed, 'utf8');
  const result = await readProfileInParser(bytes, 'profiles show');
  if (!result.ok) return t.fail(result.message);
  const local = readProfileBytes(bytes, 'profiles show');
  if (!local.ok) return t.fail(local.message);
  const { document } = result;
  t.is(document.kind, 'installed');
  t.is(document.file, 'profiles show');
  t.is(document.lines, null);
  t.deepEqual(document.root, local.document.root);
  const items = payloadsOf(document);
  t.deepEqual(
    items.map((p) => [p.role, p.type, p.settingsPath]),
    [
      ['top', 'Configuration', '_computerlevel[0]'],
      ['payload', ssoPayloadType, '_computerlevel[0].ProfileItems[0].PayloadContent'],
      ['payload', 'com.apple.security.root', '_computerlevel[0].ProfileItems[1].PayloadContent'],
    ],
  );
  const root = items[2]!.settings;
  t.deepEqual(root.Data, new Uint8Array([0x30, 0x82, 0x01, 0x00]));
  t.true(root.Since instanceof Date && root.Since.toISOString() === '2026-01-02T03:04:05.000Z');
  const issues = checkSsoPayload(items[1]!.settings, null).map((i) => i.code);
  t.true(issues.includes('sso_team_identifier_invalid'), issues.join());
  t.true(issues.includes('sso_url_not_https'), issues.join());
});

test('a signed profile read in the parser process: unwrapped, verified, the signer certificate intact', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-in-parser-'));
  const pki = await TestPki.create();
  t.teardown(async () => {
    await pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const source = path.join(dir, 'p.mobileconfig');
  writeFileSync(
    source,
    plistXml({
      PayloadType: 'Configuration',
      PayloadIdentifier: 'com.example.signed',
      PayloadUUID: '6F1A2B3C-0000-4000-8000-00000000000A',
      PayloadVersion: 1,
      PayloadContent: [payload('com.example.settings', { Mode: 'enforce' })],
    }),
  );
  const signer = await pki.issueLeaf({ commonName: 'Profile Signer' });
  const signed = path.join(dir, 'p.der');
  execFileSync('openssl', [
    'cms',
    '-sign',
    '-nodetach',
    '-binary',
    '-in',
    source,
    '-signer',
    signer.certFile,
    '-inkey',
    signer.keyFile,
    '-outform',
    'DER',
    '-out',
    signed,
  ]);
  const result = await readProfileInParser(readFileSync(signed), signed);
  if (!result.ok) return t.fail(result.message);
  t.is(result.document.container, 'cms_der');
  t.is(result.document.signed?.verdict.status, 'valid');
  const cert = result.document.signed!.verdict.signer!;
  t.true(Buffer.isBuffer(cert));
  t.true(cert.equals(Buffer.from(readFileSync(signer.certFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64')));
  t.is(payloadsOf(result.document)[1]!.settings.Mode, 'enforce');
});

test('bad input, input over the bound, a parser out of time: one failure each, never a rejection', async (t) => {
  // A loaded machine may take seconds to start the parser process: the deadline is not what is tested here.
  const slow = { timeoutMs: 60_000 };
  const malformed = await readProfileInParser(
    Buffer.from('<plist>\n<dict>\n<key>A</key>\n<string>x</dict>'),
    'bad',
    slow,
  );
  t.like(malformed, { ok: false, code: 'plist_malformed', line: 4 });
  const neither = await readProfileInParser(Buffer.from('hello'), 'text', slow);
  t.like(neither, { ok: false, code: 'not_a_profile' });
  const deep = await readProfileInParser(
    Buffer.from(`<plist>${'<array>'.repeat(40)}${'</array>'.repeat(40)}</plist>`),
    'deep',
    slow,
  );
  t.like(deep, { ok: false, code: 'plist_too_complex' });
  // Over 1 MB: refused unless the caller allows more (as for `profiles show` output), never over 16 MB.
  const big = Buffer.from(
    build({
      _computerlevel: [{ ProfileItems: [{ PayloadType: 'x', PayloadContent: { Blob: 'a'.repeat(1_200_000) } }] }],
    }),
  );
  t.like(await readProfileInParser(big, 'big', slow), { ok: false, code: 'file_too_large' });
  t.like(await readProfileInParser(big, 'big', { ...slow, maxBytes: 2 * 1024 * 1024 }), { ok: true });
  t.like(await readProfileInParser(Buffer.alloc(17 * 1024 * 1024), 'huge', { maxBytes: 64 * 1024 * 1024 }), {
    ok: false,
    code: 'file_too_large',
  });
  const late = await readProfileInParser(Buffer.from(installed), 'late', { timeoutMs: 1 });
  t.like(late, { ok: false, code: 'plist_too_complex' });
  t.regex((late as { message: string }).message, /took longer than 1 ms/);
});
